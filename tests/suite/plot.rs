//! The plots of the committed reports: redrawn from their JSON they are
//! byte-identical to the committed SVGs (so those are current), and laid out
//! with nothing clipped or covered (every text inside the canvas, the legend
//! clear of the plot area and of every marker, point labels clear of markers
//! and of each other, round ticks in readable units); and `fpec report plot`
//! writes them.

use fpec::dnn::opt::{plot_title, report_chart_from_json};
use fpec::flow::energy_chart_from_summary;
use fpec::plot::{BBox, Chart};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(p: &str) -> String {
    std::fs::read_to_string(root().join(p)).unwrap()
}

fn committed_charts() -> Vec<(String, Chart)> {
    let mut charts: Vec<(String, Chart)> = vec![
        (
            "reports/flow/energy.svg".into(),
            energy_chart_from_summary(&read("reports/flow/summary.json")).unwrap(),
        ),
        (
            "reports/dnn-mlp/dnn-report.svg".into(),
            report_chart_from_json(
                &read("reports/dnn-mlp/dnn-report.json"),
                &plot_title("digits-mlp.json", 0.5),
            )
            .unwrap(),
        ),
        (
            "reports/dnn-cnn/dnn-report.svg".into(),
            report_chart_from_json(
                &read("reports/dnn-cnn/dnn-report.json"),
                &plot_title("digits-cnn.json", 0.5),
            )
            .unwrap(),
        ),
        (
            "reports/sparse-curve/sparse-curve.svg".into(),
            fpec::flow::curve::chart_from_json(&read("reports/sparse-curve/sparse-curve.json"))
                .unwrap(),
        ),
        (
            "reports/dnn-lenet/dnn-report.svg".into(),
            report_chart_from_json(
                &read("reports/dnn-lenet/dnn-report.json"),
                &plot_title("mnist-lenet5.json", 0.5),
            )
            .unwrap(),
        ),
    ];
    // The four ResNet-20 searches (one per calibration).
    for dir in [
        "reports/dnn-resnet20",
        "reports/dnn-resnet20/mse-per-tensor",
        "reports/dnn-resnet20/max-per-channel",
        "reports/dnn-resnet20/mse-per-channel",
    ] {
        charts.push((
            format!("{dir}/dnn-report.svg"),
            report_chart_from_json(
                &read(&format!("{dir}/dnn-report.json")),
                &plot_title("cifar10-resnet20.onnx", 0.5),
            )
            .unwrap(),
        ));
    }
    charts
}

#[test]
fn committed_svgs_are_current() {
    for (path, chart) in committed_charts() {
        assert!(
            chart.to_svg() == read(&path),
            "{path} is stale: run `fpec report plot` on its JSON"
        );
    }
}

#[test]
fn committed_plots_have_nothing_clipped_or_covered() {
    for (path, chart) in committed_charts() {
        let g = chart.render().geometry;
        let canvas = BBox {
            x0: 0.0,
            y0: 0.0,
            x1: g.width,
            y1: g.height,
        };
        for (t, b) in &g.texts {
            assert!(canvas.contains(b), "{path}: {t:?} at {b:?} is clipped");
        }
        assert!(canvas.contains(&g.legend), "{path}: legend clipped");
        assert!(!g.legend.intersects(&g.plot), "{path}: legend on the plot");
        for m in &g.markers {
            assert!(g.plot.contains(m), "{path}: marker {m:?} off the plot");
            assert!(!g.legend.intersects(m), "{path}: legend covers {m:?}");
        }
        for (i, a) in g.point_labels.iter().enumerate() {
            for m in &g.markers {
                assert!(!a.intersects(m), "{path}: label {a:?} covers {m:?}");
            }
            for b in &g.point_labels[i + 1..] {
                assert!(!a.intersects(b), "{path}: labels {a:?} {b:?} overlap");
            }
        }
        let outside: Vec<&(String, BBox)> =
            g.texts.iter().filter(|t| !g.plot.contains(&t.1)).collect();
        for (i, a) in outside.iter().enumerate() {
            for b in &outside[i + 1..] {
                assert!(!a.1.intersects(&b.1), "{path}: {a:?} overlaps {b:?}");
            }
        }
    }
}

fn texts(svg: &str) -> Vec<String> {
    svg.split("<text ")
        .skip(1)
        .filter_map(|t| {
            let body = t.split_once('>')?.1;
            Some(body.split_once("</text>")?.0.to_string())
        })
        .collect()
}

#[test]
fn ticks_are_round_and_in_readable_units() {
    let charts = committed_charts();
    let flow = texts(&charts[0].1.to_svg());
    for t in ["0", "100", "200", "300", "400", "500", "600", "700"] {
        assert!(
            flow.iter().any(|x| x == t),
            "flow tick {t} missing: {flow:?}"
        );
    }
    assert!(flow.iter().any(|x| x == "energy per MAC (fJ)"));
    assert!(flow.iter().any(|x| x == "FPEC +2 fused"));
    let cnn = texts(&charts[2].1.to_svg());
    for t in ["0.6", "0.8", "1", "2", "3"] {
        assert!(cnn.iter().any(|x| x == t), "cnn tick {t} missing: {cnn:?}");
    }
    assert!(cnn
        .iter()
        .any(|x| x == "energy per inference (nJ, log scale)"));
    assert!(cnn.iter().any(|x| x == "test accuracy (%)"));
    // No raw exponent labels.
    for c in &charts {
        assert!(!c.1.to_svg().contains("e5<") && !c.1.to_svg().contains("e6<"));
    }
}

#[test]
fn report_plot_command_redraws_next_to_the_json() {
    let dir = tempfile::tempdir().unwrap();
    for (src, svg) in [
        ("reports/flow/summary.json", "energy.svg"),
        ("reports/dnn-cnn/dnn-report.json", "dnn-report.svg"),
    ] {
        let json = dir.path().join(Path::new(src).file_name().unwrap());
        std::fs::copy(root().join(src), &json).unwrap();
        let out = crate::common::fpec()
            .args(["report", "plot"])
            .arg(&json)
            .arg("--model-name")
            .arg("digits-cnn.json")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let got = std::fs::read_to_string(dir.path().join(svg)).unwrap();
        let want = read(&Path::new(src).with_file_name(svg).to_string_lossy());
        assert_eq!(got, want, "{src}");
    }
    // Not a report: exit 2, one line.
    let bad = dir.path().join("x.json");
    std::fs::write(&bad, "{\"a\": 1}").unwrap();
    let out = crate::common::fpec()
        .args(["report", "plot"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
