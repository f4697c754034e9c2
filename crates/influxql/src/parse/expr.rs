//! Field-list expressions: names, literals, calls, arithmetic.

use super::{is_reserved, Parser};
use crate::ast::{Binary, BinaryOp, Call, Cast, Expr, VarRef};
use crate::error::{Fail, PResult};
use crate::function::{Function, Second};
use crate::lexer::Tok;

impl Parser<'_> {
    /// An expression: `+ -` over `* /` over operands, left-associative.
    pub(super) fn expr(&mut self) -> PResult<Expr> {
        self.nested(|p| {
            let mut lhs = p.term()?;
            loop {
                let op = match p.tok.kind {
                    Tok::Plus => BinaryOp::Add,
                    Tok::Minus => BinaryOp::Sub,
                    _ => return Ok(lhs),
                };
                p.bump()?;
                let rhs = p.term()?;
                lhs = Expr::Binary(Box::new(Binary { op, lhs, rhs }));
            }
        })
    }

    fn term(&mut self) -> PResult<Expr> {
        let mut lhs = self.operand()?;
        loop {
            let op = match self.tok.kind {
                Tok::Star => BinaryOp::Mul,
                Tok::Slash => BinaryOp::Div,
                _ => return Ok(lhs),
            };
            self.bump()?;
            let rhs = self.operand()?;
            lhs = Expr::Binary(Box::new(Binary { op, lhs, rhs }));
        }
    }

    fn operand(&mut self) -> PResult<Expr> {
        let expr = match &self.tok.kind {
            Tok::Integer(n) => Expr::Integer(*n),
            Tok::Number(x) => Expr::Number(*x),
            Tok::Str(s) => Expr::String(s.clone()),
            Tok::Duration(d) => Expr::Duration(*d),
            Tok::Minus => {
                self.bump()?;
                return match self.tok.kind {
                    Tok::Integer(n) => {
                        self.bump()?;
                        Ok(Expr::Integer(-n))
                    }
                    Tok::Number(x) => {
                        self.bump()?;
                        Ok(Expr::Number(-x))
                    }
                    _ => Err(self.unexpected("a number after unary -")),
                };
            }
            Tok::LParen => {
                self.bump()?;
                let inner = self.expr()?;
                self.expect(&Tok::RParen, ")")?;
                return Ok(inner);
            }
            Tok::Ident(name) => {
                let (name, pos) = (name.clone(), self.tok.pos);
                self.bump()?;
                if self.tok.kind == Tok::LParen {
                    return self.call(name, pos);
                }
                if is_reserved(&name) {
                    let msg = format!("found {name}, expected field, function or number");
                    return Err(Fail::new(pos, msg));
                }
                let cast = self.cast()?;
                return Ok(Expr::VarRef(VarRef { name, cast }));
            }
            Tok::QuotedIdent(_) => return self.var_ref().map(Expr::VarRef),
            _ => return Err(self.unexpected("field, function or number")),
        };
        self.bump()?;
        Ok(expr)
    }

    /// A name with an optional `::type` cast.
    pub(super) fn var_ref(&mut self) -> PResult<VarRef> {
        let name = self.ident("identifier")?;
        let cast = self.cast()?;
        Ok(VarRef { name, cast })
    }

    /// An optional `::type` after a name.
    pub(super) fn cast(&mut self) -> PResult<Option<Cast>> {
        if !self.eat(&Tok::DoubleColon)? {
            return Ok(None);
        }
        let pos = self.tok.pos;
        let word = self.ident("tag, field, integer, float, string or boolean")?;
        Ok(Some(match word.to_ascii_lowercase().as_str() {
            "tag" => Cast::Tag,
            "field" => Cast::Field,
            "integer" => Cast::Integer,
            "float" => Cast::Float,
            "string" => Cast::String,
            "boolean" => Cast::Boolean,
            _ => return Err(Fail::new(pos, format!("unknown type ::{word}"))),
        }))
    }

    /// `name(args)`; the current token is the `(` after `name` (at `name_pos`).
    fn call(&mut self, name: String, name_pos: usize) -> PResult<Expr> {
        let Some(function) = Function::from_name(&name) else {
            if name.eq_ignore_ascii_case("now") {
                return Err(Fail::new(
                    name_pos,
                    "now() is only allowed in time conditions",
                ));
            }
            return Err(Fail::new(name_pos, format!("unknown function {name}()")));
        };
        let args = self.call_args()?;
        check_args(function, &args).map_err(|why| {
            Fail::new(
                name_pos,
                format!("invalid arguments to {}(): {why}", function.name()),
            )
        })?;
        Ok(Expr::Call(Call { function, args }))
    }

    /// `(arg, …)`: expressions, `*` or regexes; the current token is `(`.
    fn call_args(&mut self) -> PResult<Vec<Expr>> {
        self.bump()?;
        let mut args = Vec::new();
        if self.eat(&Tok::RParen)? {
            return Ok(args);
        }
        loop {
            args.push(if self.eat(&Tok::Star)? {
                Expr::Wildcard
            } else if self.tok.kind == Tok::Slash {
                Expr::Regex(self.regex()?)
            } else {
                self.expr()?
            });
            if !self.eat(&Tok::Comma)? {
                self.expect(&Tok::RParen, ", or )")?;
                return Ok(args);
            }
        }
    }
}

/// Checks the argument count and the kind of the second argument.
fn check_args(function: Function, args: &[Expr]) -> Result<(), &'static str> {
    let second = args.get(1);
    match (function.second(), args.len(), second) {
        (_, 0, _) => Err("expected at least 1 argument"),
        (Second::Nothing, 1, _) | (Second::OptionalDuration, 1, _) => Ok(()),
        (Second::Nothing, _, _) => Err("expected 1 argument"),
        (_, n, _) if n > 2 => Err("expected at most 2 arguments"),
        (Second::OptionalDuration, _, Some(Expr::Duration(d))) if d.as_nanos() > 0 => Ok(()),
        (Second::OptionalDuration, _, _) => Err("the second argument must be a positive duration"),
        (Second::Number, 2, Some(Expr::Integer(_) | Expr::Number(_))) => Ok(()),
        (Second::Number, _, _) => Err("expected a field and a number"),
        (Second::Count, 2, Some(Expr::Integer(n))) if *n > 0 => Ok(()),
        (Second::Count, _, _) => Err("expected a field and a positive integer"),
    }
}
