//! Request planning: the Modbus points of a device merged into as few reads as possible.

use crate::point_table::{Function, Point, Source};

/// One Modbus read covering one or more points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Read function.
    pub function: Function,
    /// First register (or bit), 0-based.
    pub address: u16,
    /// Registers (or bits) read.
    pub count: u16,
    /// The points it covers: indices into the device's point list.
    pub points: Vec<usize>,
}

/// Merges the Modbus points of one device: points of one function whose registers are at most
/// `max_gap` apart share a request, up to `max_registers` registers (functions 3, 4) or
/// `max_bits` bits (1, 2) per request.
pub fn plan(points: &[Point], max_gap: u16, max_registers: u16, max_bits: u16) -> Vec<Request> {
    let mut spans: Vec<(Function, u32, u32, usize)> = points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p.source {
            Source::Modbus {
                function,
                address,
                ty,
                ..
            } => {
                let width = if function.is_bits() { 1 } else { ty.width() };
                let start = u32::from(address);
                Some((function, start, start + u32::from(width), i))
            }
            Source::Dlt645(_) => None,
        })
        .collect();
    spans.sort();
    let mut out: Vec<Request> = Vec::new();
    let mut end = 0u32;
    for (function, start, stop, i) in spans {
        let limit = u32::from(if function.is_bits() {
            max_bits
        } else {
            max_registers
        });
        if let Some(r) = out.last_mut() {
            let first = u32::from(r.address);
            if r.function == function
                && start <= end + u32::from(max_gap)
                && stop.max(end) - first <= limit
            {
                end = end.max(stop);
                r.count = (end - first) as u16;
                r.points.push(i);
                continue;
            }
        }
        end = stop;
        out.push(Request {
            function,
            address: start as u16,
            count: (stop - start) as u16,
            points: vec![i],
        });
    }
    out
}

/// The registers (or bits, as 0/1) of `point` within the answer `words` to `request`.
pub fn slice<'a>(request: &Request, point: &Point, words: &'a [u16]) -> &'a [u16] {
    let Source::Modbus { address, ty, .. } = point.source else {
        return &[];
    };
    let from = usize::from(address.saturating_sub(request.address)).min(words.len());
    let to = (from + usize::from(ty.width())).min(words.len());
    &words[from..to]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{ByteOrder, DataType};

    fn point(function: Function, address: u16, ty: DataType) -> Point {
        Point {
            name: format!("p{address}"),
            line: 2,
            source: Source::Modbus {
                function,
                address,
                ty,
                order: ByteOrder::Abcd,
            },
            scale: 1.0,
            offset: 0.0,
            unit: String::new(),
            min: None,
            max: None,
            meter: format!("m{address}"),
            kind: None,
        }
    }

    #[test]
    fn adjacent_points_share_a_request() {
        let points = vec![
            point(Function::Holding, 2, DataType::U32),
            point(Function::Holding, 0, DataType::U32),
            point(Function::Holding, 10, DataType::U16),
            point(Function::Input, 4, DataType::F32),
            point(Function::Coils, 3, DataType::Bit),
            point(Function::Coils, 4, DataType::Bit),
        ];
        let r = plan(&points, 0, 125, 2000);
        let shape: Vec<(Function, u16, u16, Vec<usize>)> = r
            .iter()
            .map(|r| (r.function, r.address, r.count, r.points.clone()))
            .collect();
        assert_eq!(
            shape,
            vec![
                (Function::Coils, 3, 2, vec![4, 5]),
                (Function::Holding, 0, 4, vec![1, 0]),
                (Function::Holding, 10, 1, vec![2]),
                (Function::Input, 4, 2, vec![3]),
            ]
        );
        // A gap of 6 registers (4..10) is bridged with max_gap 6.
        let r = plan(&points, 6, 125, 2000);
        assert_eq!((r[1].address, r[1].count, r[1].points.len()), (0, 11, 3));
    }

    #[test]
    fn requests_stop_at_the_protocol_limit() {
        let points: Vec<Point> = (0..100)
            .map(|i| point(Function::Holding, i * 2, DataType::F32))
            .collect();
        let r = plan(&points, 0, 125, 2000);
        assert_eq!(r.iter().map(|r| r.count).collect::<Vec<_>>(), vec![124, 76]);
        assert!(r.iter().all(|r| r.count <= 125));
        let bits: Vec<Point> = (0..2500)
            .map(|i| point(Function::DiscreteInputs, i, DataType::Bit))
            .collect();
        let r = plan(&bits, 0, 125, 2000);
        assert_eq!(
            r.iter().map(|r| r.count).collect::<Vec<_>>(),
            vec![2000, 500]
        );
    }

    #[test]
    fn slices_of_the_answer() {
        let points = vec![
            point(Function::Holding, 10, DataType::U16),
            point(Function::Holding, 12, DataType::U32),
        ];
        let r = &plan(&points, 2, 125, 2000)[0];
        let words = [1, 2, 3, 4];
        assert_eq!(slice(r, &points[0], &words), &[1]);
        assert_eq!(slice(r, &points[1], &words), &[3, 4]);
    }
}
