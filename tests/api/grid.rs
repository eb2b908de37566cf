//! Locate (WGS-84 and GCJ-02), the cells as GeoJSON with paging and scoping, the region
//! tree, and map imports (refused when invalid; picked up by a running server).

use serde_json::{json, Value};

use crate::both;
use crate::harness::{Backend, TestApp};

both!(
    locate_in_wgs84_and_gcj02,
    locate_outside_every_cell_is_404,
    cells_page_and_scope,
    region_tree_is_scoped,
    map_import_refuses_overlap_and_unclosed_rings,
    a_new_map_reaches_the_running_server,
);

/// Points inside known demo cells (from fixtures/tools/gen_map.py).
const SAMPLES: [(f64, f64, &str, &str, &str); 3] = [
    (
        113.1258667,
        23.0153333,
        "44060501100105",
        "44060501100100",
        "44060501100000",
    ),
    (
        113.1572,
        23.011,
        "44060501100316",
        "44060501100300",
        "44060501100000",
    ),
    (
        113.1397,
        23.0304,
        "44060512500207",
        "44060512500200",
        "44060512500000",
    ),
];

fn locate_in_wgs84_and_gcj02(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let token = app.login("insp-denghu-01");
    for (lon, lat, cell, community, town) in SAMPLES {
        let (status, body) = app.get(&format!("/api/v1/grid/locate?lon={lon}&lat={lat}"), &token);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["cell"]["code"], cell);
        assert_eq!(body["community"]["code"], community);
        assert_eq!(body["town"]["code"], town);
        assert_eq!(body["district"]["code"], "44060500000000");
        assert_eq!(body["district"]["name"], "南海区");
        assert!(body["cell"]["name"].as_str().unwrap().contains("网格"));

        // The same place as a Chinese map SDK reports it.
        let (glon, glat) = gridpatrol::grid::coords::wgs84_to_gcj02(lon, lat);
        let (status, body) = app.get(
            &format!("/api/v1/grid/locate?lon={glon}&lat={glat}&crs=gcj02"),
            &token,
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["cell"]["code"], cell);
        let back = (
            body["wgs84"]["lon"].as_f64().unwrap(),
            body["wgs84"]["lat"].as_f64().unwrap(),
        );
        let error_m = gridpatrol::grid::coords::distance_m(lon, lat, back.0, back.1);
        assert!(error_m < 0.01, "GCJ-02 inverse off by {error_m} m");
        // Taken as WGS-84, the GCJ-02 numbers land hundreds of metres away: elsewhere.
        let (_, naive) = app.get(
            &format!("/api/v1/grid/locate?lon={glon}&lat={glat}"),
            &token,
        );
        assert_ne!(naive["cell"]["code"], cell);
    }
}

fn locate_outside_every_cell_is_404(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let token = app.login("disp-guicheng-1");
    // 顺德 (Shunde), south of the demo area; and Beijing.
    for (lon, lat) in [(113.29, 22.80), (116.40, 39.90)] {
        let (status, body) = app.get(&format!("/api/v1/grid/locate?lon={lon}&lat={lat}"), &token);
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"]["code"], "not_found");
    }
}

fn features(body: &Value) -> Vec<String> {
    body["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["code"].as_str().unwrap().to_string())
        .collect()
}

fn cells_page_and_scope(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let admin = app.login("admin");
    let (status, first) = app.get("/api/v1/grid/cells?limit=60", &admin);
    assert_eq!(status, 200);
    assert_eq!(first["type"], "FeatureCollection");
    let mut codes = features(&first);
    assert_eq!(codes.len(), 60);
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let (_, second) = app.get(
        &format!("/api/v1/grid/cells?limit=60&cursor={cursor}"),
        &admin,
    );
    assert!(second["next_cursor"].is_null());
    codes.extend(features(&second));
    assert_eq!(codes.len(), 107);
    let mut sorted = codes.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, codes, "pages overlap or are unordered");

    let props = &first["features"][0]["properties"];
    assert_eq!(props["code"], "44060501100101");
    assert_eq!(
        props["community"],
        json!({"code": "44060501100100", "name": "灯湖社区"})
    );
    assert_eq!(props["town"]["name"], "桂城街道");
    assert_eq!(props["district"]["code"], "44060500000000");
    let inspectors: Vec<&str> = props["inspectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["username"].as_str().unwrap())
        .collect();
    assert!(inspectors.contains(&"insp-denghu-01"), "{inspectors:?}");
    assert_eq!(first["features"][0]["geometry"]["type"], "Polygon");

    // A town dispatcher sees the town's cells only; an inspector the community's.
    let dispatcher = app.login("disp-guicheng-1");
    let (_, town) = app.get("/api/v1/grid/cells?limit=1000", &dispatcher);
    let town = features(&town);
    assert_eq!(town.len(), 34);
    assert!(town.iter().all(|c| c.starts_with("440605011")));
    let (status, _) = app.get("/api/v1/grid/cells?region=44060512500000", &dispatcher);
    assert_eq!(status, 403);
    let inspector = app.login("insp-denghu-01");
    let (_, own) = app.get("/api/v1/grid/cells", &inspector);
    assert!(features(&own).iter().all(|c| c.starts_with("440605011001")));
    let (_, narrowed) = app.get("/api/v1/grid/cells?region=44060512500200", &admin);
    assert_eq!(features(&narrowed).len(), 16);

    for bad in ["limit=0", "limit=1001", "cursor=%21%21%21"] {
        let (status, _) = app.get(&format!("/api/v1/grid/cells?{bad}"), &admin);
        assert_eq!(status, 400, "{bad}");
    }
}

fn region_tree_is_scoped(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let admin = app.login("admin");
    let (status, tree) = app.get("/api/v1/regions", &admin);
    assert_eq!(status, 200);
    assert_eq!(tree.as_array().unwrap().len(), 1);
    assert_eq!(tree[0]["code"], "44060500000000");
    assert_eq!(tree[0]["level"], "district");
    assert_eq!(tree[0]["children"].as_array().unwrap().len(), 3);

    let dispatcher = app.login("disp-guicheng-1");
    let (_, tree) = app.get("/api/v1/regions", &dispatcher);
    let towns = tree[0]["children"].as_array().unwrap();
    assert_eq!(towns.len(), 1, "a town centre sees its own town only");
    assert_eq!(towns[0]["name"], "桂城街道");
    assert_eq!(towns[0]["children"].as_array().unwrap().len(), 3);
    assert_eq!(towns[0]["children"][0]["children"][0]["level"], "cell");
}

fn write_temp(app: &TestApp, name: &str, text: &str) -> String {
    std::fs::create_dir_all(&app.data_dir).unwrap();
    let path = app.data_dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn demo_map() -> Value {
    serde_json::from_str(gridpatrol::demo::MAP).unwrap()
}

fn map_import_refuses_overlap_and_unclosed_rings(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let mut map = demo_map();
    let features = map["features"].as_array_mut().unwrap();
    // Stretch cell 01 of 灯湖 east over cell 02; leave cell 03's ring open.
    for f in features.iter_mut() {
        let code = f["properties"]["code"].as_str().unwrap().to_string();
        let ring = f["geometry"]["coordinates"][0].as_array_mut().unwrap();
        if code == "44060501100101" {
            for p in ring.iter_mut() {
                if p[0].as_f64().unwrap() > 113.121 {
                    p[0] = json!(p[0].as_f64().unwrap() + 0.001);
                }
            }
        }
        if code == "44060501100103" {
            ring.pop();
        }
    }
    let path = write_temp(&app, "bad-map.geojson", &map.to_string());
    let out = app.cli(&["import", "map", &path]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("44060501100103") && stderr.contains("not closed"),
        "{stderr}"
    );
    let out = {
        let mut map = demo_map();
        for f in map["features"].as_array_mut().unwrap() {
            if f["properties"]["code"] == "44060501100101" {
                for p in f["geometry"]["coordinates"][0].as_array_mut().unwrap() {
                    if p[0].as_f64().unwrap() > 113.121 {
                        p[0] = json!(p[0].as_f64().unwrap() + 0.001);
                    }
                }
            }
        }
        let path = write_temp(&app, "overlap.geojson", &map.to_string());
        app.cli(&["import", "map", &path])
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("44060501100101 overlaps 44060501100102"),
        "{stderr}"
    );
    // Nothing changed: the demo cell is still where it was.
    let token = app.login("admin");
    let (_, body) = app.get("/api/v1/grid/locate?lon=113.1258667&lat=23.0153333", &token);
    assert_eq!(body["cell"]["code"], "44060501100105");
}

fn a_new_map_reaches_the_running_server(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let token = app.login("admin");
    // Split cell 灯湖 05 into 05 (west half) and a new cell 10 (east half).
    let mut map = demo_map();
    let features = map["features"].as_array_mut().unwrap();
    let five = features
        .iter()
        .position(|f| f["properties"]["code"] == "44060501100105")
        .unwrap();
    let ring: Vec<Vec<f64>> =
        serde_json::from_value(features[five]["geometry"]["coordinates"][0].clone()).unwrap();
    let (x0, x1) = (ring[0][0], ring[1][0]);
    let (y0, y1) = (ring[0][1], ring[2][1]);
    let mid = ((x0 + x1) / 2.0 * 1e7).round() / 1e7;
    let rect = |a: f64, b: f64| json!({"type":"Polygon","coordinates":[[[a,y0],[b,y0],[b,y1],[a,y1],[a,y0]]]});
    features[five]["geometry"] = rect(x0, mid);
    let mut ten = features[five].clone();
    ten["properties"]["code"] = json!("44060501100110");
    ten["properties"]["name"] = json!("灯湖社区第10网格");
    ten["geometry"] = rect(mid, x1);
    features.push(ten);
    let path = write_temp(&app, "split.geojson", &map.to_string());
    let out = app.cli(&["import", "map", &path]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 regions inserted, 1 updated"), "{stdout}");

    let east = format!(
        "/api/v1/grid/locate?lon={}&lat={}",
        (mid + x1) / 2.0,
        (y0 + y1) / 2.0
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (status, body) = app.get(&east, &token);
        if status == 200 && body["cell"]["code"] == "44060501100110" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server kept the old map: {body}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
