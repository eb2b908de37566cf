//! Licence number validation (issue 4): goal at least 5,000,000 numbers/s on one core.
//!
//! cargo bench --bench numbers
//!
//! A realistic mix as read off walls: valid USCCs (some typed with spaces, dashes or
//! full-width digits), USCCs with one character wrong, food business licences, and junk.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use gridpatrol::demo::enterprises::{self as generator, Area};
use gridpatrol::licences::numbers::{self, Uscc};

fn inputs() -> Vec<String> {
    let areas = [Area {
        cell_code: "44060501100101".into(),
        min_lon: 113.12,
        min_lat: 23.018,
        max_lon: 113.1244,
        max_lat: 23.022,
    }];
    let library = generator::generate(
        11,
        2048,
        &areas,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
    );
    let mut out = Vec::new();
    for (i, (e, licences)) in library.iter().enumerate() {
        let code = e.uscc.clone();
        out.push(match i % 8 {
            0 => format!("{} {} {}", &code[..6], &code[6..12], &code[12..]),
            1 => code
                .chars()
                .map(|c| {
                    if c.is_ascii_digit() {
                        char::from_u32(c as u32 + 0xFEE0).unwrap()
                    } else {
                        c
                    }
                })
                .collect(),
            2 => {
                let mut wrong: Vec<char> = code.chars().collect();
                wrong[9] = if wrong[9] == '7' { '8' } else { '7' };
                wrong.into_iter().collect()
            }
            3 => licences
                .iter()
                .find(|l| l.kind == "food_business")
                .map_or(code.clone(), |l| l.number.clone()),
            4 => "营业执照编号不清".to_string(),
            _ => code,
        });
    }
    out
}

fn bench_numbers(c: &mut Criterion) {
    let inputs = inputs();
    let mut group = c.benchmark_group("numbers");
    group.throughput(Throughput::Elements(inputs.len() as u64));
    group.bench_function("validate_mixed", |b| {
        b.iter(|| {
            let mut ok = 0usize;
            for raw in &inputs {
                ok += numbers::validate(black_box(raw), None).is_ok() as usize;
            }
            ok
        })
    });
    let plain: Vec<String> = inputs
        .iter()
        .map(|s| numbers::normalise(s))
        .filter(|s| s.len() == 18)
        .collect();
    group.throughput(Throughput::Elements(plain.len() as u64));
    group.bench_function("uscc_parse_clean", |b| {
        b.iter(|| {
            let mut ok = 0usize;
            for raw in &plain {
                ok += Uscc::parse(black_box(raw)).is_ok() as usize;
            }
            ok
        })
    });
    group.finish();
}

criterion_group!(benches, bench_numbers);
criterion_main!(benches);
