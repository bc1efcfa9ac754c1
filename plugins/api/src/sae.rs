//! The safe trait an SAE-architecture author implements (ABI slot v1).
//!
//! An architecture plugin owns its math (encode, decode, loss) and its
//! training; the host owns the data and the weights that come back. Weights
//! cross as named `f32` tensors whose names and shapes follow SAELens v6
//! (`W_enc [d_in, d_sae]`, `b_enc [d_sae]`, `W_dec [d_sae, d_in]`, `b_dec [d_in]`, ...).

use crate::data::{CsrMatrix, MatrixView};
use serde::{Deserialize, Serialize};

/// What an architecture declares about itself. Crosses the ABI as JSON.
///
/// Every field after `default_hyperparameters` was added without an ABI
/// change: each has `#[serde(default)]`, so the spec JSON of a plugin built
/// against an older SDK still parses (it then declares nothing). Unknown
/// fields are ignored, so an older host can read a newer plugin's spec.
///
/// Build one with a struct literal ending in `..SaeSpec::default()` and check
/// it with [`SaeSpec::validate`] in the plugin's own tests (see
/// `rdpbench_sdk::testing::check_sae_spec`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SaeSpec {
    /// Unique id, e.g. `topk`.
    pub id: String,
    pub version: String,
    pub description: String,
    pub citation: String,
    /// The SAELens v6 `architecture` string its weights are saved under
    /// (written to `cfg.json`).
    pub saelens_architecture: String,
    /// Default hyperparameters, JSON object; a training config overrides them.
    /// When [`hyperparameters`](Self::hyperparameters) is declared this must
    /// equal [`Hyperparameter::defaults`] of it (checked by [`SaeSpec::validate`]).
    #[serde(default)]
    pub default_hyperparameters: serde_json::Value,
    /// The architecture-specific hyperparameters it reads from its training
    /// config, with type, default and allowed range. Generic training fields
    /// every SDK-trained plugin shares (`d_sae`, `steps`, `lr`, `seed`, ...)
    /// are not listed.
    #[serde(default)]
    pub hyperparameters: Vec<Hyperparameter>,
    /// Name of the hyperparameter that sets the sparsity of the trained SAE
    /// (a sweep varies it): `k` for TopK-like SAEs, `l1_coefficient` for a
    /// ReLU SAE, `l0_coefficient` for JumpReLU. Must be one of
    /// [`hyperparameters`](Self::hyperparameters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sparsity_knob: Option<String>,
    /// How its weights map to SAELens folders.
    #[serde(default)]
    pub saelens: SaelensInterop,
}

/// The JSON type of a hyperparameter or `cfg.json` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    /// A JSON integer (`4`; `4.0` is refused, as serde refuses it for an
    /// integer field).
    Int,
    Float,
    Bool,
    String,
    /// An array of whole numbers; a range applies to each element.
    IntList,
}

impl ValueType {
    fn name(self) -> &'static str {
        match self {
            ValueType::Int => "an integer",
            ValueType::Float => "a number",
            ValueType::Bool => "a boolean",
            ValueType::String => "a string",
            ValueType::IntList => "an array of integers",
        }
    }
}

/// An allowed interval of a numeric value. A missing bound is unbounded;
/// bounds are inclusive unless marked exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ValueRange {
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub min_exclusive: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub max_exclusive: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl ValueRange {
    /// Whether `x` lies in the range.
    pub fn contains(&self, x: f64) -> bool {
        let lo = match self.min {
            Some(m) if self.min_exclusive => x > m,
            Some(m) => x >= m,
            None => true,
        };
        let hi = match self.max {
            Some(m) if self.max_exclusive => x < m,
            Some(m) => x <= m,
            None => true,
        };
        !x.is_nan() && lo && hi
    }
}

impl std::fmt::Display for ValueRange {
    /// Interval notation, e.g. `[1, +inf)` or `(0, 1]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let open = if self.min_exclusive || self.min.is_none() {
            '('
        } else {
            '['
        };
        let close = if self.max_exclusive || self.max.is_none() {
            ')'
        } else {
            ']'
        };
        let lo = self.min.map_or("-inf".to_string(), |m| m.to_string());
        let hi = self.max.map_or("+inf".to_string(), |m| m.to_string());
        write!(f, "{open}{lo}, {hi}{close}")
    }
}

/// Checks `v` against a type and an optional range; the error says what was
/// expected (the caller adds the field name).
fn check_value(
    v: &serde_json::Value,
    kind: ValueType,
    range: Option<&ValueRange>,
) -> Result<(), String> {
    let number = |v: &serde_json::Value, whole: bool| -> Result<f64, String> {
        let x = v
            .as_f64()
            .ok_or_else(|| format!("= {v} is not {}", kind.name()))?;
        if whole && !(v.is_i64() || v.is_u64()) {
            return Err(format!("= {v} is not {}", kind.name()));
        }
        if let Some(r) = range
            && !r.contains(x)
        {
            return Err(format!("= {v} is out of range: allowed {r}"));
        }
        Ok(x)
    };
    match kind {
        ValueType::Int => number(v, true).map(drop),
        ValueType::Float => number(v, false).map(drop),
        ValueType::Bool if v.is_boolean() => Ok(()),
        ValueType::String if v.is_string() => Ok(()),
        ValueType::IntList => {
            let items = v
                .as_array()
                .ok_or_else(|| format!("= {v} is not {}", kind.name()))?;
            for (i, item) in items.iter().enumerate() {
                number(item, true).map_err(|e| format!("[{i}] {e}"))?;
            }
            Ok(())
        }
        _ => Err(format!("= {v} is not {}", kind.name())),
    }
}

/// One declared hyperparameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hyperparameter {
    /// The key in the training config JSON, e.g. `k`.
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ValueType,
    pub default: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<ValueRange>,
    /// Another key of the same config whose value bounds this one from
    /// above (TopK's `k` is at most `d_sae`); checked when both are present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<String>,
    #[serde(default)]
    pub description: String,
}

/// `name = v` must not exceed `config[bound]` (when both are numbers).
fn check_at_most(
    name: &str,
    v: &serde_json::Value,
    bound: Option<&String>,
    config: &serde_json::Value,
) -> Result<(), String> {
    let Some(bound) = bound else { return Ok(()) };
    match (v.as_f64(), config.get(bound).and_then(|b| b.as_f64())) {
        (Some(x), Some(b)) if x > b => Err(format!(
            "`{name}` = {v} exceeds `{bound}` = {b}: it must be at most `{bound}`"
        )),
        _ => Ok(()),
    }
}

impl Hyperparameter {
    /// A hyperparameter with no range.
    pub fn new(
        name: &str,
        kind: ValueType,
        default: impl Into<serde_json::Value>,
        description: &str,
    ) -> Self {
        Self {
            name: name.into(),
            kind,
            default: default.into(),
            range: None,
            at_most: None,
            description: description.into(),
        }
    }

    /// Bounds this hyperparameter by another key of the config (e.g. `d_sae`).
    pub fn at_most(mut self, other: &str) -> Self {
        self.at_most = Some(other.into());
        self
    }

    /// Sets an inclusive lower bound.
    pub fn min(mut self, min: f64) -> Self {
        let r = self.range.get_or_insert_with(ValueRange::default);
        (r.min, r.min_exclusive) = (Some(min), false);
        self
    }

    /// Sets an exclusive lower bound (`> min`).
    pub fn above(mut self, min: f64) -> Self {
        let r = self.range.get_or_insert_with(ValueRange::default);
        (r.min, r.min_exclusive) = (Some(min), true);
        self
    }

    /// Sets an inclusive upper bound.
    pub fn max(mut self, max: f64) -> Self {
        let r = self.range.get_or_insert_with(ValueRange::default);
        (r.max, r.max_exclusive) = (Some(max), false);
        self
    }

    /// Checks one value; the error names the hyperparameter and the allowed
    /// type or range.
    pub fn check(&self, v: &serde_json::Value) -> anyhow::Result<()> {
        check_value(v, self.kind, self.range.as_ref())
            .map_err(|e| anyhow::anyhow!("hyperparameter `{}` {e}", self.name))
    }

    /// The declared defaults as one JSON object (what
    /// [`SaeSpec::default_hyperparameters`] must hold).
    pub fn defaults(list: &[Hyperparameter]) -> serde_json::Value {
        serde_json::Value::Object(
            list.iter()
                .map(|h| (h.name.clone(), h.default.clone()))
                .collect(),
        )
    }
}

/// A tensor dimension in a declaration: symbolic (`"d_in"`, `"d_sae"`) or
/// a fixed size (a JSON number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "serde_json::Value", try_from = "serde_json::Value")]
pub enum Dim {
    DIn,
    DSae,
    Fixed(usize),
}

impl Dim {
    /// The size for given `d_in` and `d_sae`.
    pub fn resolve(self, d_in: usize, d_sae: usize) -> usize {
        match self {
            Dim::DIn => d_in,
            Dim::DSae => d_sae,
            Dim::Fixed(n) => n,
        }
    }
}

impl From<Dim> for serde_json::Value {
    fn from(d: Dim) -> Self {
        match d {
            Dim::DIn => "d_in".into(),
            Dim::DSae => "d_sae".into(),
            Dim::Fixed(n) => n.into(),
        }
    }
}

impl TryFrom<serde_json::Value> for Dim {
    type Error = String;
    fn try_from(v: serde_json::Value) -> Result<Self, String> {
        match v.as_str() {
            Some("d_in") => Ok(Dim::DIn),
            Some("d_sae") => Ok(Dim::DSae),
            _ => v.as_u64().map(|n| Dim::Fixed(n as usize)).ok_or_else(|| {
                format!("tensor dimension {v} is not \"d_in\", \"d_sae\" or a size")
            }),
        }
    }
}

/// One tensor of a SAELens `sae_weights.safetensors`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaelensTensor {
    pub name: String,
    pub shape: Vec<Dim>,
}

impl SaelensTensor {
    pub fn new(name: &str, shape: &[Dim]) -> Self {
        Self {
            name: name.into(),
            shape: shape.to_vec(),
        }
    }
}

/// A field an architecture needs in `cfg.json` besides the ones every
/// SAELens folder has (`architecture`, `d_in`, `d_sae`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaelensCfgField {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ValueType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<ValueRange>,
    /// Another `cfg.json` field that bounds this one from above (TopK's
    /// `k` is at most `d_sae`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<String>,
    #[serde(default)]
    pub description: String,
    /// The value SAELens assumes when `cfg.json` lacks the field (its
    /// config dataclass's default); `None`: the field is required. A default
    /// of `null` also allows an explicit `null` (SAELens `Optional` fields,
    /// e.g. matching pursuit's `max_iterations`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_value"
    )]
    pub default: Option<serde_json::Value>,
}

/// A present field as `Some`, even `null` (plain `Option` would read a
/// `null` default as no default).
fn present_value<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

impl SaelensCfgField {
    /// [`Self::check`] of `cfg[name]`, plus its [`Self::at_most`] bound
    /// against the other fields of `cfg`.
    pub fn check_in(&self, v: &serde_json::Value, cfg: &serde_json::Value) -> anyhow::Result<()> {
        self.check(v)?;
        check_at_most(&self.name, v, self.at_most.as_ref(), cfg)
            .map_err(|e| anyhow::anyhow!("field {e}"))
    }

    /// A required field without a range.
    pub fn new(name: &str, kind: ValueType, description: &str) -> Self {
        Self {
            name: name.into(),
            kind,
            range: None,
            at_most: None,
            description: description.into(),
            default: None,
        }
    }

    /// Makes the field optional with SAELens's default `default`.
    pub fn or_default(mut self, default: impl Into<serde_json::Value>) -> Self {
        self.default = Some(default.into());
        self
    }

    /// Checks a `cfg.json` value against the declared type and range;
    /// the error names the field.
    pub fn check(&self, v: &serde_json::Value) -> anyhow::Result<()> {
        if v.is_null() && self.default.as_ref().is_some_and(|d| d.is_null()) {
            return Ok(());
        }
        check_value(v, self.kind, self.range.as_ref())
            .map_err(|e| anyhow::anyhow!("field `{}` {e}", self.name))
    }

    /// The field's value in `cfg` (its default when absent), checked against
    /// its type, range and [`Self::at_most`] bound; the error names the field.
    pub fn value_in(&self, cfg: &serde_json::Value) -> anyhow::Result<serde_json::Value> {
        let v = match (cfg.get(&self.name), &self.default) {
            (Some(v), _) => v.clone(),
            (None, Some(d)) => d.clone(),
            (None, None) => anyhow::bail!(
                "field `{}` is missing ({})",
                self.name,
                if self.description.is_empty() {
                    "the architecture needs it"
                } else {
                    &self.description
                }
            ),
        };
        self.check(&v)?;
        check_at_most(&self.name, &v, self.at_most.as_ref(), cfg)
            .map_err(|e| anyhow::anyhow!("field {e}"))?;
        Ok(v)
    }
}

/// How a plugin's codes decode, where SAELens's decoder is not the plain
/// `x̂ = f W_dec + b_dec`. Each rule names a boolean `cfg.json` field (one of
/// the plugin's [`SaelensInterop::cfg_fields`]) that switches it on; the
/// host applies it, so the rule is declared, not coded in the host.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SaelensDecode {
    /// When this field is `true`, code `j` is divided by `‖W_dec,j‖` before
    /// decoding: `x̂ = Σ_j (f_j / ‖W_dec,j‖) W_dec,j + b_dec` (SAELens TopK's
    /// `rescale_acts_by_decoder_norm`, whose encoder multiplies the
    /// pre-activations by the same norms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub divide_by_decoder_norm_when: Option<String>,
    /// `b_dec` is added to the reconstruction only when this field is `true`
    /// (SAELens matching pursuit: `apply_b_dec_to_input`); `None`: always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b_dec_only_when: Option<String>,
}

/// How an architecture's weights map to SAELens v6 folders (`cfg.json` +
/// `sae_weights.safetensors`). The architecture string it *saves* under is
/// [`SaeSpec::saelens_architecture`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SaelensInterop {
    /// The SAELens `architecture` strings whose folders this plugin encodes
    /// when a folder is loaded from disk (e.g. `standard` for a ReLU SAE).
    /// Each string should be claimed by one plugin only: BatchTopK and
    /// Matryoshka save as `jumprelu` but leave loading to the JumpReLU plugin.
    #[serde(default)]
    pub loads: Vec<String>,
    /// The tensors it writes and reads, in saving order.
    #[serde(default)]
    pub tensors: Vec<SaelensTensor>,
    /// Extra `cfg.json` fields its `encode` needs (TopK: `k`), and every
    /// architecture-specific field that changes the SAE's function (with
    /// SAELens's default when optional).
    #[serde(default)]
    pub cfg_fields: Vec<SaelensCfgField>,
    /// Where its decoder departs from `f W_dec + b_dec`.
    #[serde(default)]
    pub decode: SaelensDecode,
}

impl SaelensInterop {
    /// `W_enc [d_in, d_sae]`, `b_enc [d_sae]`, `W_dec [d_sae, d_in]`,
    /// `b_dec [d_in]`: the tensors of SAELens `standard` and `topk`.
    pub fn standard_tensors() -> Vec<SaelensTensor> {
        vec![
            SaelensTensor::new("W_enc", &[Dim::DIn, Dim::DSae]),
            SaelensTensor::new("b_enc", &[Dim::DSae]),
            SaelensTensor::new("W_dec", &[Dim::DSae, Dim::DIn]),
            SaelensTensor::new("b_dec", &[Dim::DIn]),
        ]
    }

    /// The declared field `name`.
    pub fn cfg_field(&self, name: &str) -> Option<&SaelensCfgField> {
        self.cfg_fields.iter().find(|f| f.name == name)
    }

    /// The boolean declared field `name` in `cfg` (its default when
    /// absent); an error names the field.
    pub fn cfg_bool(&self, cfg: &serde_json::Value, name: &str) -> anyhow::Result<bool> {
        let f = self
            .cfg_field(name)
            .ok_or_else(|| anyhow::anyhow!("cfg.json field `{name}` is not declared"))?;
        f.value_in(cfg)?
            .as_bool()
            .ok_or_else(|| anyhow::anyhow!("field `{name}` is not a boolean"))
    }

    /// `cfg` with every declared field that it lacks set to its default.
    pub fn with_defaults(&self, cfg: &serde_json::Value) -> serde_json::Value {
        let mut out = cfg.clone();
        if let Some(obj) = out.as_object_mut() {
            for f in &self.cfg_fields {
                if let (None, Some(d)) = (obj.get(&f.name), &f.default) {
                    obj.insert(f.name.clone(), d.clone());
                }
            }
        }
        out
    }

    /// Tensor names and concrete shapes, in saving order.
    pub fn expected_tensors(&self, d_in: usize, d_sae: usize) -> Vec<(String, Vec<usize>)> {
        self.tensors
            .iter()
            .map(|t| {
                let shape = t.shape.iter().map(|d| d.resolve(d_in, d_sae)).collect();
                (t.name.clone(), shape)
            })
            .collect()
    }
}

impl SaeSpec {
    /// The declared hyperparameter `name`.
    pub fn hyperparameter(&self, name: &str) -> Option<&Hyperparameter> {
        self.hyperparameters.iter().find(|h| h.name == name)
    }

    /// Checks a training config (a JSON object) against the declared
    /// hyperparameters: every declared one that is present must have its type
    /// and lie in its range. Keys not declared here (the generic training
    /// fields) are left to the plugin's own config parser. Errors name the
    /// field and the allowed type or range.
    pub fn validate_hyperparameters(&self, config: &serde_json::Value) -> anyhow::Result<()> {
        let obj = config.as_object().ok_or_else(|| {
            anyhow::anyhow!(
                "`{}` hyperparameters must be a JSON object, got {config}",
                self.id
            )
        })?;
        for h in &self.hyperparameters {
            if let Some(v) = obj.get(&h.name) {
                h.check(v)
                    .map_err(|e| anyhow::anyhow!("`{}`: {e}", self.id))?;
                check_at_most(&h.name, v, h.at_most.as_ref(), config)
                    .map_err(|e| anyhow::anyhow!("`{}`: hyperparameter {e}", self.id))?;
            }
        }
        Ok(())
    }

    /// Checks the spec itself: unique hyperparameter names, each default of
    /// its own type and range, `default_hyperparameters` equal to the
    /// declared defaults, the sparsity knob a declared numeric
    /// hyperparameter, unique SAELens tensor and cfg field names.
    pub fn validate(&self) -> anyhow::Result<()> {
        use anyhow::{bail, ensure};
        let id = &self.id;
        ensure!(!id.is_empty(), "SAE spec: `id` is empty");
        ensure!(
            !self.saelens_architecture.is_empty(),
            "SAE spec `{id}`: `saelens_architecture` is empty"
        );
        let mut seen = std::collections::BTreeSet::new();
        for h in &self.hyperparameters {
            ensure!(
                seen.insert(h.name.as_str()),
                "SAE spec `{id}`: hyperparameter `{}` is declared twice",
                h.name
            );
            h.check(&h.default)
                .map_err(|e| anyhow::anyhow!("SAE spec `{id}`: default of {e}"))?;
        }
        if !self.hyperparameters.is_empty() {
            let declared = Hyperparameter::defaults(&self.hyperparameters);
            ensure!(
                self.default_hyperparameters == declared,
                "SAE spec `{id}`: `default_hyperparameters` {} differs from the declared defaults {declared}",
                self.default_hyperparameters
            );
        }
        if let Some(knob) = &self.sparsity_knob {
            match self.hyperparameter(knob) {
                Some(h) if matches!(h.kind, ValueType::Int | ValueType::Float) => {}
                Some(h) => bail!(
                    "SAE spec `{id}`: sparsity knob `{knob}` is {}, not a number",
                    h.kind.name()
                ),
                None => bail!(
                    "SAE spec `{id}`: sparsity knob `{knob}` is not a declared hyperparameter"
                ),
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for t in &self.saelens.tensors {
            ensure!(
                names.insert(t.name.as_str()),
                "SAE spec `{id}`: SAELens tensor `{}` is declared twice",
                t.name
            );
        }
        let mut fields = std::collections::BTreeSet::new();
        for f in &self.saelens.cfg_fields {
            ensure!(
                fields.insert(f.name.as_str()),
                "SAE spec `{id}`: cfg.json field `{}` is declared twice",
                f.name
            );
            if let Some(d) = &f.default {
                f.check(d)
                    .map_err(|e| anyhow::anyhow!("SAE spec `{id}`: default of cfg.json {e}"))?;
            }
        }
        let d = &self.saelens.decode;
        for rule in [&d.divide_by_decoder_norm_when, &d.b_dec_only_when]
            .into_iter()
            .flatten()
        {
            match self.saelens.cfg_field(rule) {
                Some(f) if f.kind == ValueType::Bool => {}
                _ => bail!(
                    "SAE spec `{id}`: decode rule names cfg.json field `{rule}`, which is not a declared boolean field"
                ),
            }
        }
        Ok(())
    }

    /// Checks trained or loaded weights against the SAELens declaration:
    /// `cfg.json` names an architecture this plugin saves or loads, has
    /// positive integer `d_in` and `d_sae` and every declared cfg field, and
    /// the tensors have the declared names and shapes.
    pub fn validate_saelens_weights(&self, weights: &SaeWeights) -> anyhow::Result<()> {
        use anyhow::{Context as _, ensure};
        let id = &self.id;
        let cfg: serde_json::Value = serde_json::from_str(&weights.cfg_json)
            .with_context(|| format!("`{id}`: cfg.json is not valid JSON"))?;
        let arch = cfg
            .get("architecture")
            .and_then(|a| a.as_str())
            .unwrap_or("standard");
        ensure!(
            arch == self.saelens_architecture || self.saelens.loads.iter().any(|l| l == arch),
            "`{id}`: cfg.json architecture `{arch}` is neither the one it saves (`{}`) nor one it loads ({:?})",
            self.saelens_architecture,
            self.saelens.loads
        );
        let dim = |field: &str| -> anyhow::Result<usize> {
            cfg.get(field)
                .and_then(|v| v.as_u64())
                .filter(|&v| v > 0)
                .map(|v| v as usize)
                .with_context(|| {
                    format!("`{id}`: cfg.json field `{field}` is missing or not a positive integer")
                })
        };
        let (d_in, d_sae) = (dim("d_in")?, dim("d_sae")?);
        for f in &self.saelens.cfg_fields {
            let v = match (cfg.get(&f.name), &f.default) {
                (Some(v), _) => v,
                (None, Some(d)) => d,
                (None, None) => anyhow::bail!("`{id}`: cfg.json has no field `{}`", f.name),
            };
            f.check(v)
                .map_err(|e| anyhow::anyhow!("`{id}`: cfg.json {e}"))?;
        }
        for (name, shape) in self.saelens.expected_tensors(d_in, d_sae) {
            let t = weights.tensor(&name)?;
            ensure!(
                t.shape == shape,
                "`{id}`: tensor `{name}` has shape {:?}, declared {shape:?} (d_in = {d_in}, d_sae = {d_sae})",
                t.shape
            );
            ensure!(
                t.data.len() == shape.iter().product::<usize>(),
                "`{id}`: tensor `{name}` holds {} values for shape {shape:?}",
                t.data.len()
            );
        }
        Ok(())
    }
}

/// One named tensor, row-major `f32`.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// A trained SAE: its `cfg.json` content and its tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct SaeWeights {
    pub cfg_json: String,
    pub tensors: Vec<NamedTensor>,
}

impl SaeWeights {
    pub fn tensor(&self, name: &str) -> anyhow::Result<&NamedTensor> {
        self.tensors
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| anyhow::anyhow!("SAE weights have no tensor named `{name}`"))
    }
}

/// Where training batches come from: the host streams `[rows, d_in]` batches.
pub trait BatchSource {
    fn d_in(&self) -> usize;
    /// Fills `out` (capacity `rows * d_in`) with up to `rows` rows and returns
    /// how many it wrote; 0 means the stream is exhausted.
    fn next_batch(&mut self, out: &mut [f32], rows: usize) -> anyhow::Result<usize>;
}

/// Receives progress during training (JSON object per report). Default: ignore.
pub trait TrainObserver {
    fn on_progress(&mut self, _step: u64, _total_steps: u64, _metrics_json: &str) {}
}

/// A no-op observer.
#[derive(Debug, Default)]
pub struct NoProgress;
impl TrainObserver for NoProgress {}

/// Everything one training run needs.
pub struct TrainRequest<'a> {
    /// Hyperparameters as a JSON object (merged over the spec's defaults by the host).
    pub config: &'a str,
    pub data: &'a mut dyn BatchSource,
    pub observer: &'a mut dyn TrainObserver,
}

impl std::fmt::Debug for TrainRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainRequest")
            .field("config", &self.config)
            .field("d_in", &self.data.d_in())
            .finish_non_exhaustive()
    }
}

/// An SAE architecture.
pub trait SaeArchitecture: Send + Sync {
    fn spec(&self) -> SaeSpec;
    /// Trains one SAE on the streamed data.
    fn train(&self, request: TrainRequest<'_>) -> anyhow::Result<SaeWeights>;
    /// Codes of `x` `[n_tokens, d_in]` as CSR `[n_tokens, d_sae]`.
    fn encode(&self, weights: &SaeWeights, x: MatrixView<'_>) -> anyhow::Result<CsrMatrix>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn topk_like() -> SaeSpec {
        let hyperparameters = vec![
            Hyperparameter::new("k", ValueType::Int, 4, "active latents per row").min(1.0),
            Hyperparameter::new("coef", ValueType::Float, 0.5, "a coefficient")
                .above(0.0)
                .max(1.0),
            Hyperparameter::new("flag", ValueType::Bool, true, ""),
            Hyperparameter::new("name", ValueType::String, "a", ""),
            Hyperparameter::new("prefixes", ValueType::IntList, json!([]), "").min(1.0),
        ];
        SaeSpec {
            id: "t".into(),
            saelens_architecture: "topk".into(),
            default_hyperparameters: Hyperparameter::defaults(&hyperparameters),
            hyperparameters,
            sparsity_knob: Some("k".into()),
            saelens: SaelensInterop {
                loads: vec!["topk".into()],
                tensors: SaelensInterop::standard_tensors(),
                cfg_fields: vec![SaelensCfgField {
                    name: "k".into(),
                    kind: ValueType::Int,
                    range: Some(ValueRange {
                        min: Some(1.0),
                        ..ValueRange::default()
                    }),
                    at_most: Some("d_sae".into()),
                    description: String::new(),
                    default: None,
                }],
                ..SaelensInterop::default()
            },
            ..SaeSpec::default()
        }
    }

    fn err(spec: &SaeSpec, config: serde_json::Value) -> String {
        spec.validate_hyperparameters(&config)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn hyperparameters_in_range_and_of_their_type_pass() {
        let s = topk_like();
        s.validate().unwrap();
        s.validate_hyperparameters(&s.default_hyperparameters)
            .unwrap();
        // The inclusive and exclusive bounds are honoured; undeclared keys pass.
        let ok = json!({"k": 1, "coef": 1.0, "prefixes": [1, 8], "d_sae": 64, "lr": 1e-3});
        s.validate_hyperparameters(&ok).unwrap();
    }

    #[test]
    fn out_of_range_and_mistyped_values_are_named_with_the_allowed_range() {
        let s = topk_like();
        assert_eq!(
            err(&s, json!({"k": 0})),
            "`t`: hyperparameter `k` = 0 is out of range: allowed [1, +inf)"
        );
        assert_eq!(
            err(&s, json!({"coef": 0.0})),
            "`t`: hyperparameter `coef` = 0.0 is out of range: allowed (0, 1]"
        );
        assert_eq!(
            err(&s, json!({"coef": 1.5})),
            "`t`: hyperparameter `coef` = 1.5 is out of range: allowed (0, 1]"
        );
        assert_eq!(
            err(&s, json!({"k": 2.5})),
            "`t`: hyperparameter `k` = 2.5 is not an integer"
        );
        // As serde refuses 4.0 for an integer field, so does the check.
        assert_eq!(
            err(&s, json!({"k": 4.0})),
            "`t`: hyperparameter `k` = 4.0 is not an integer"
        );
        assert_eq!(
            err(&s, json!({"k": "4"})),
            "`t`: hyperparameter `k` = \"4\" is not an integer"
        );
        assert_eq!(
            err(&s, json!({"flag": 1})),
            "`t`: hyperparameter `flag` = 1 is not a boolean"
        );
        assert_eq!(
            err(&s, json!({"name": 3})),
            "`t`: hyperparameter `name` = 3 is not a string"
        );
        assert_eq!(
            err(&s, json!({"prefixes": [4, 0]})),
            "`t`: hyperparameter `prefixes` [1] = 0 is out of range: allowed [1, +inf)"
        );
        assert!(err(&s, json!([1])).contains("must be a JSON object"));
    }

    #[test]
    fn inconsistent_specs_are_refused() {
        let mut s = topk_like();
        s.sparsity_knob = Some("l1_coefficient".into());
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("sparsity knob `l1_coefficient` is not a declared hyperparameter")
        );
        s.sparsity_knob = Some("flag".into());
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("not a number")
        );

        let mut s = topk_like();
        s.default_hyperparameters = json!({"k": 8});
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("differs from the declared defaults")
        );

        let mut s = topk_like();
        s.hyperparameters[0].default = json!(0);
        s.default_hyperparameters = Hyperparameter::defaults(&s.hyperparameters);
        assert_eq!(
            s.validate().unwrap_err().to_string(),
            "SAE spec `t`: default of hyperparameter `k` = 0 is out of range: allowed [1, +inf)"
        );

        let mut s = topk_like();
        let dup = s.hyperparameters[1].clone();
        s.hyperparameters.push(dup);
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("`coef` is declared twice")
        );
    }

    #[test]
    fn spec_json_of_an_older_plugin_still_parses_and_declares_nothing() {
        let old = r#"{"id":"relu","version":"0.1.0","description":"d","citation":"c",
            "saelens_architecture":"standard","default_hyperparameters":{"l1_coefficient":0.3}}"#;
        let s: SaeSpec = serde_json::from_str(old).unwrap();
        assert!(s.hyperparameters.is_empty() && s.sparsity_knob.is_none());
        assert_eq!(s.saelens, SaelensInterop::default());
        s.validate().unwrap();
    }

    #[test]
    fn spec_json_round_trips_with_symbolic_shapes() {
        let s = topk_like();
        let text = serde_json::to_string(&s).unwrap();
        assert!(
            text.contains(r#"{"name":"W_enc","shape":["d_in","d_sae"]}"#),
            "{text}"
        );
        assert!(
            text.contains(r#""range":{"min":0.0,"max":1.0,"min_exclusive":true}"#),
            "{text}"
        );
        let back: SaeSpec = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s);
        let bad = serde_json::from_value::<Dim>(json!("n_tokens")).unwrap_err();
        assert!(
            bad.to_string()
                .contains("not \"d_in\", \"d_sae\" or a size")
        );
        assert_eq!(
            serde_json::from_value::<Dim>(json!(3)).unwrap(),
            Dim::Fixed(3)
        );
    }

    fn weights(cfg: serde_json::Value, d_in: usize, d_sae: usize) -> SaeWeights {
        let t = |name: &str, shape: Vec<usize>| NamedTensor {
            name: name.into(),
            data: vec![0.0; shape.iter().product()],
            shape,
        };
        SaeWeights {
            cfg_json: cfg.to_string(),
            tensors: vec![
                t("W_enc", vec![d_in, d_sae]),
                t("b_enc", vec![d_sae]),
                t("W_dec", vec![d_sae, d_in]),
                t("b_dec", vec![d_in]),
            ],
        }
    }

    #[test]
    fn saelens_weights_are_checked_against_the_declaration() {
        let s = topk_like();
        let cfg = json!({"architecture": "topk", "d_in": 3, "d_sae": 5, "k": 2});
        s.validate_saelens_weights(&weights(cfg.clone(), 3, 5))
            .unwrap();
        assert_eq!(
            s.saelens.expected_tensors(3, 5)[2],
            ("W_dec".to_string(), vec![5, 3])
        );

        let no_k = json!({"architecture": "topk", "d_in": 3, "d_sae": 5});
        let e = s
            .validate_saelens_weights(&weights(no_k, 3, 5))
            .unwrap_err();
        assert_eq!(e.to_string(), "`t`: cfg.json has no field `k`");

        let k0 = json!({"architecture": "topk", "d_in": 3, "d_sae": 5, "k": 0});
        let e = s.validate_saelens_weights(&weights(k0, 3, 5)).unwrap_err();
        assert!(
            e.to_string().contains("field `k` = 0 is out of range"),
            "{e}"
        );

        let e = s.validate_saelens_weights(&weights(cfg, 3, 4)).unwrap_err();
        assert!(
            e.to_string()
                .contains("tensor `W_enc` has shape [3, 4], declared [3, 5]"),
            "{e}"
        );

        let other = json!({"architecture": "gated", "d_in": 3, "d_sae": 5, "k": 2});
        let e = s
            .validate_saelens_weights(&weights(other, 3, 5))
            .unwrap_err();
        assert!(
            e.to_string().contains("architecture `gated` is neither"),
            "{e}"
        );
    }
}
