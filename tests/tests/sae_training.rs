//! SAE architecture plugins end to end: each of the six libraries trains
//! through the ABI on the default toy, saves a SAELens folder that loads back
//! bit-identically, and encodes the same codes from the loaded folder; the
//! `rdpbench train` command resumes a finished sweep without retraining; an
//! SAE whose training is interrupted resumes from its last checkpoint and ends
//! bit-identical to an uninterrupted run.

mod common;

use rdpbench_core::toy::{ToyConfig, ToyModel};
use rdpbench_plugin_host::PluginSet;
use rdpbench_plugin_host::saelens;
use rdpbench_runner::train::{TRAIN_DRAW, ToySource, evaluate_on_toy, train_on_toy};
use rdpbench_sdk::{BatchSource, NoProgress, SaeArchitecture, SaeWeights, TrainRequest};

const ARCHS: [(&str, &str); 6] = [
    ("relu", "standard"),
    ("topk", "topk"),
    ("batchtopk", "jumprelu"),
    ("jumprelu", "jumprelu"),
    ("gated", "gated"),
    ("matryoshka", "jumprelu"),
];

fn plugins() -> PluginSet {
    let mut set = PluginSet::default();
    for (id, _) in ARCHS {
        set.load_file(&common::lib(&format!("rdpbench_sae_{id}")));
    }
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    set
}

#[test]
fn every_architecture_trains_saves_and_loads_back() {
    let set = plugins();
    let model = ToyModel::new(&ToyConfig::default(), 0).unwrap();
    let tmp = std::env::temp_dir().join(format!("rdpbench-sae-training-{}", std::process::id()));
    for (id, saelens_arch) in ARCHS {
        let sae = set.saes.iter().find(|s| s.id() == id).unwrap();
        assert_eq!(sae.spec().saelens_architecture, saelens_arch);
        let h = serde_json::json!({ "d_sae": 32, "k": 2, "steps": 300, "batch_size": 256, "lr": 3e-3, "eval_rows": 512 });
        let w = train_on_toy(sae, &model, &h, 1, &mut NoProgress).unwrap();
        let e = evaluate_on_toy(sae, &w, &model, 2048).unwrap();
        eprintln!("{id}: {e:?}");
        assert!(e.explained_variance.unwrap() > 0.8, "{id}: {e:?}");
        assert!(e.l0.unwrap() > 0.5, "{id}: {e:?}");

        let dir = tmp.join(id);
        saelens::save(&dir, &w, &sae.cached_spec().saelens).unwrap();
        let f = saelens::load(&dir, &set).unwrap();
        assert_eq!(f.architecture, saelens_arch);
        assert_eq!(f.weights.cfg_json, w.cfg_json, "{id}: cfg.json changed");
        assert_eq!(f.weights.tensors.len(), w.tensors.len(), "{id}");
        for t in &w.tensors {
            let b = f.weights.tensor(&t.name).unwrap();
            assert_eq!(b.shape, t.shape, "{id}/{}", t.name);
            assert!(
                b.data
                    .iter()
                    .zip(&t.data)
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "{id}/{}",
                t.name
            );
        }
        for field in [
            "architecture",
            "d_in",
            "d_sae",
            "dtype",
            "device",
            "apply_b_dec_to_input",
            "normalize_activations",
            "reshape_activations",
            "metadata",
        ] {
            assert!(f.cfg.get(field).is_some(), "{id}: cfg.json lacks `{field}`");
        }
        assert_eq!(f.cfg["d_in"], 32);
        assert_eq!(f.cfg["d_sae"], 32);
        if saelens_arch == "topk" {
            assert_eq!(f.cfg["k"], 2);
        }
        // The loaded folder, encoded by the plugin that claims its SAELens
        // architecture, gives the same codes as the trained SAE.
        let reader = saelens::plugin_for(&set, &f.cfg).unwrap();
        assert_eq!(reader.id(), f.plugin);
        let x = model.sample(99, 0, 256).x;
        let a = sae.encode(&w, x.view()).unwrap();
        let b = reader.encode(&f.weights, x.view()).unwrap();
        assert_eq!(a, b, "{id}: codes differ after the round trip");
    }
    std::fs::remove_dir_all(&tmp).ok();
}

#[test]
fn train_command_resumes_without_retraining() {
    let out = std::env::temp_dir().join(format!("rdpbench-train-cli-{}", std::process::id()));
    let args = ["train", "--arch", "topk,relu", "--steps", "60", "--out"];
    let (code, stdout, stderr) = common::run(common::rdpbench().args(args).arg(&out));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.matches("trained").count(), 2, "{stdout}");
    let saes = out.join("saes");
    let folder = saes.join("topk-w32-k4-s0");
    let weights = folder.join(saelens::WEIGHTS_FILE);
    let before = std::fs::metadata(&weights).unwrap().modified().unwrap();
    assert!(saes.join("train.json").is_file() && saes.join("train.csv").is_file());
    // Interrupted sweep: one folder lost; the other must not be retrained.
    std::fs::remove_dir_all(saes.join("relu-w32-l1_0.3-s0")).unwrap();
    let (code, stdout, stderr) = common::run(common::rdpbench().args(args).arg(&out));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("topk-w32-k4-s0") && stdout.contains("resumed"),
        "{stdout}"
    );
    assert_eq!(stdout.matches(" trained").count(), 1, "{stdout}");
    assert_eq!(
        std::fs::metadata(&weights).unwrap().modified().unwrap(),
        before
    );
    std::fs::remove_dir_all(&out).ok();
}

/// The toy stream, failing once `rows_left` rows have been read (an interruption).
struct Interrupted<'a> {
    inner: ToySource<'a>,
    rows_left: u64,
}

impl BatchSource for Interrupted<'_> {
    fn d_in(&self) -> usize {
        self.inner.d_in()
    }
    fn next_batch(&mut self, out: &mut [f32], rows: usize) -> anyhow::Result<usize> {
        anyhow::ensure!(self.rows_left >= rows as u64, "interrupted");
        self.rows_left -= rows as u64;
        self.inner.next_batch(out, rows)
    }
}

/// BatchTopK (a running threshold buffer, AuxK on dead latents) through the
/// plugin ABI: 60 steps in one go vs. a run interrupted in step 47 and
/// resumed from its step-40 checkpoint. Same weights, bit for bit.
#[test]
fn interrupted_training_resumes_bit_identical_through_the_abi() {
    let set = plugins();
    let sae = set.saes.iter().find(|s| s.id() == "batchtopk").unwrap();
    let model = ToyModel::new(&ToyConfig::default(), 0).unwrap();
    let tmp = std::env::temp_dir().join(format!("rdpbench-sae-resume-{}", std::process::id()));
    let train = |dir: &str, rows_left: u64| -> anyhow::Result<SaeWeights> {
        let config = serde_json::json!({
            "d_sae": 32, "k": 2, "steps": 60, "batch_size": 128, "lr": 3e-3, "eval_rows": 256,
            "dead_after_rows": 512, "checkpoint_every": 20,
            "checkpoint_dir": tmp.join(dir),
        });
        let config =
            rdpbench_runner::train::merge_objects([&sae.spec().default_hyperparameters, &config]);
        sae.train(TrainRequest {
            config: &config.to_string(),
            data: &mut Interrupted {
                inner: ToySource::new(&model, TRAIN_DRAW),
                rows_left,
            },
            observer: &mut NoProgress,
        })
    };
    let whole = train("whole", u64::MAX).unwrap();
    let err = train("split", 256 + 46 * 128 + 5).unwrap_err();
    assert!(format!("{err:#}").contains("interrupted"), "{err:#}");
    assert!(tmp.join("split/resume/state.json").is_file());
    let resumed = train("split", u64::MAX).unwrap();
    assert_eq!(resumed.cfg_json.replace("split", "whole"), whole.cfg_json);
    for (a, b) in resumed.tensors.iter().zip(&whole.tensors) {
        assert_eq!((&a.name, &a.shape), (&b.name, &b.shape));
        assert!(
            a.data
                .iter()
                .zip(&b.data)
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "`{}` differs after resuming",
            a.name
        );
    }
    std::fs::remove_dir_all(&tmp).ok();
}
