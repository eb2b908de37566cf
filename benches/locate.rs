//! Locate over a synthetic district of 10,000 cells (100 × 100 cells of about 150 m around
//! Nanhai): the R-tree finds the candidates, an exact point-in-polygon test decides.
//! Goal (issue 2): at least 1,000,000 lookups/s on one core.
//!
//! cargo bench --bench locate

use std::collections::HashMap;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use geo::{polygon, MultiPolygon};
use gridpatrol::grid::coords::wgs84_to_gcj02;
use gridpatrol::grid::index::{CellEntry, CellIndex, RegionRef};

const SIDE: usize = 100;
const STEP: f64 = 0.0015;
const WEST: f64 = 113.05;
const SOUTH: f64 = 22.95;

fn district() -> CellIndex {
    let r = |code: String| RegionRef {
        name: code.clone(),
        code,
    };
    let mut cells = Vec::with_capacity(SIDE * SIDE);
    for row in 0..SIDE {
        for col in 0..SIDE {
            let (x0, y0) = (WEST + col as f64 * STEP, SOUTH + row as f64 * STEP);
            let (x1, y1) = (x0 + STEP, y0 + STEP);
            // 100 communities of 100 cells; codes only need to be unique and ordered here.
            let community = row / 10 * 10 + col / 10;
            cells.push(CellEntry {
                cell: r(format!(
                    "440605{:03}{:03}{:02}",
                    11 + community / 10,
                    community,
                    row % 10 * 10 + col % 10
                )),
                community: r(format!(
                    "440605{:03}{:03}00",
                    11 + community / 10,
                    community
                )),
                town: r(format!("440605{:03}00000", 11 + community / 10)),
                district: r("44060500000000".into()),
                shape: MultiPolygon(vec![polygon![
                    (x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1), (x: x0, y: y0)
                ]]),
            });
        }
    }
    CellIndex::build(1, cells, HashMap::new())
}

/// Deterministic points spread over the district plus a margin outside it (misses cost
/// too), from a 64-bit LCG.
fn points(n: usize) -> Vec<(f64, f64)> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let span = SIDE as f64 * STEP;
    (0..n)
        .map(|_| {
            (
                WEST - 0.01 + next() * (span + 0.02),
                SOUTH - 0.01 + next() * (span + 0.02),
            )
        })
        .collect()
}

fn bench_locate(c: &mut Criterion) {
    let index = district();
    assert_eq!(index.len(), SIDE * SIDE);
    let pts = points(4096);
    let hits = pts
        .iter()
        .filter(|(x, y)| index.locate(*x, *y).is_some())
        .count();
    assert!(
        hits > pts.len() * 3 / 4,
        "most points must fall in a cell: {hits}"
    );
    let mut group = c.benchmark_group("locate");
    group.throughput(Throughput::Elements(pts.len() as u64));
    group.bench_function("wgs84_10000_cells", |b| {
        b.iter(|| {
            let mut found = 0usize;
            for &(x, y) in &pts {
                found += index.locate(black_box(x), black_box(y)).is_some() as usize;
            }
            found
        })
    });
    let gcj: Vec<(f64, f64)> = pts.iter().map(|&(x, y)| wgs84_to_gcj02(x, y)).collect();
    group.bench_function("gcj02_inverse_then_locate_10000_cells", |b| {
        b.iter(|| {
            let mut found = 0usize;
            for &(x, y) in &gcj {
                let (wx, wy) = gridpatrol::grid::coords::gcj02_to_wgs84(black_box(x), black_box(y));
                found += index.locate(wx, wy).is_some() as usize;
            }
            found
        })
    });
    group.finish();
}

criterion_group!(benches, bench_locate);
criterion_main!(benches);
