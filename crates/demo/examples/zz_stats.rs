use std::collections::BTreeMap;
fn main() {
    let t0 = std::time::Instant::now();
    let p = shulv_demo::DemoPark::new();
    let t1 = t0.elapsed();
    let mut n = 0u64; let mut per: BTreeMap<String, f64> = BTreeMap::new();
    p.for_each_reading(|id, _t, v| { n += 1; *per.entry(id.to_string()).or_default() += v; });
    println!("new {:?} all {:?} n {}", t1, t0.elapsed(), n);
    let toml = p.registry_toml();
    println!("meters {}", p.meter_ids().len());
    let args: Vec<String> = std::env::args().collect();
    if args.len() > 1 { for (t, v) in p.readings(&args[1]).iter().skip(args[2].parse().unwrap()).take(args[3].parse().unwrap()) { println!("{} {v}", chrono::DateTime::from_timestamp_millis(t + 8*3600000).unwrap().naive_utc()); } }
    else { for (k, v) in &per { println!("{k} {v:.1}"); } println!("{}", toml.lines().take(30).collect::<Vec<_>>().join("\n")); }
}
