//! `saes/train.json` and `saes/train.csv`: a training sweep's
//! [`SweepSummary`], one row per job.

use crate::{Exporter, FnExporter, Json};
use rdpbench_schema::results::train::SweepSummary;
use rdpbench_store::ResultFile;

/// The exporters of the train stage's result files.
pub fn exporters() -> Vec<Box<dyn Exporter<SweepSummary>>> {
    vec![
        Box::new(Json(ResultFile::TrainJson)),
        Box::new(FnExporter::new("csv", ResultFile::TrainCsv, csv)),
    ]
}

fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| format!("{v}"))
}

/// One row per job.
pub fn csv(s: &SweepSummary) -> String {
    let mut out = String::from(
        "id,architecture,d_sae,sparsity,seed,trained,l0,mse,explained_variance,mcc,p_gt,n_live\n",
    );
    for o in &s.jobs {
        let (key, v) = (&o.job.sparsity.knob, o.job.sparsity.value);
        out.push_str(&format!(
            "{},{},{},{key}={v},{},{},{},{},{},{},{},{}\n",
            o.job.id,
            o.job.architecture,
            o.job.d_sae,
            o.job.seed,
            o.trained,
            opt(o.eval.l0),
            opt(o.eval.mse),
            opt(o.eval.explained_variance),
            opt(o.eval.mcc),
            opt(o.eval.p_gt),
            o.eval.n_live
        ));
    }
    out
}
