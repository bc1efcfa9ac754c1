//! `rdp.json`, `rdp_curves.csv`, `rdp_pgt_vs_q.csv`: the reproduction's
//! report, curves and P_gt points.

use crate::{Exporter, FnExporter, Json};
use rdpbench_schema::results::rdp::RdpReport;
use rdpbench_store::ResultFile;

/// The exporters of the reproduction's result files.
pub fn exporters() -> Vec<Box<dyn Exporter<RdpReport>>> {
    vec![
        Box::new(Json(ResultFile::RdpJson)),
        Box::new(FnExporter::new("csv", ResultFile::RdpCurvesCsv, curves_csv)),
        Box::new(FnExporter::new("csv", ResultFile::RdpPgtCsv, pgt_csv)),
    ]
}

/// The curve CSV (`rdp_curves.csv`).
pub fn curves_csv(r: &RdpReport) -> String {
    let mut s = String::from("family,data,k,l0,mse,explained_variance,p_gt\n");
    for c in &r.curves {
        s.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            c.family,
            c.data,
            c.k,
            c.l0,
            c.mse,
            c.explained_variance,
            c.p_gt.map_or(String::new(), |v| v.to_string())
        ));
    }
    s
}

/// The R2 CSV (`rdp_pgt_vs_q.csv`).
pub fn pgt_csv(r: &RdpReport) -> String {
    let mut s = String::from("q_factor,q,seed,k,p_gt,l0,mse,explained_variance,mcc\n");
    let o = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for p in &r.pgt_vs_q {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            p.q_factor,
            p.q,
            p.seed,
            r.settings.r2_k,
            o(p.eval.p_gt),
            o(p.eval.l0),
            o(p.eval.mse),
            o(p.eval.explained_variance),
            o(p.eval.mcc)
        ));
    }
    s
}
