//! Configuration: embedded, commented TOML defaults (`default.toml`) with an
//! optional user file layered on top. Unknown fields are rejected with the
//! file and the dotted path of the field.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The embedded defaults, verbatim (comments included).
pub const DEFAULT_TOML: &str = include_str!("../default.toml");

/// The config file read when `--config` is not given, if it exists.
pub const IMPLICIT_CONFIG: &str = "rdpbench.toml";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub plugins: PluginsConfig,
    pub output: OutputConfig,
    pub toy: rdpbench_core::toy::ToyConfig,
    pub check: rdpbench_core::conditions::CheckSettings,
    pub game: rdpbench_core::game::GameSettings,
    pub train: crate::settings::TrainSettings,
    pub validity: crate::settings::ValiditySettings,
    pub bench: crate::settings::BenchSettings,
    pub real: crate::settings::RealSettings,
    pub planted: crate::settings::PlantedSettings,
    pub reproduce: crate::settings::RdpSettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginsConfig {
    pub paths: Vec<PathBuf>,
    pub build_dir: bool,
    pub metrics: Vec<String>,
    /// Wall-clock limit in seconds of one plugin call (a metric's compute,
    /// an SAE's encode, a spec read) in every stage; 0: none.
    pub call_timeout_secs: f64,
    /// Wall-clock limit in seconds of one SAE training call; 0: none.
    pub train_timeout_secs: f64,
}

impl PluginsConfig {
    /// Rejects negative or non-finite limits, naming the field.
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("plugins.call_timeout_secs", self.call_timeout_secs),
            ("plugins.train_timeout_secs", self.train_timeout_secs),
        ] {
            anyhow::ensure!(
                v.is_finite() && v >= 0.0,
                "{field} must be a finite number of seconds >= 0 (0: no limit), not {v}"
            );
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    pub dir: PathBuf,
}

/// Recursively merges `over` into `base`: tables merge key by key, anything
/// else in `over` replaces what `base` had. A table that selects a variant
/// with a different `kind` (e.g. `[toy.marginals] kind = "zipf"`) replaces
/// the default table whole, so the default variant's keys do not leak in.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o))
                if o.get("kind").is_none_or(|kind| b.get("kind") == Some(kind)) =>
            {
                merge(b, o)
            }
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

fn parse_table(text: &str, origin: &str) -> Result<toml::Table> {
    text.parse::<toml::Table>()
        .with_context(|| format!("config file {origin} is not valid TOML"))
}

impl Config {
    /// The embedded defaults.
    pub fn defaults() -> Self {
        Self::from_layers(None).expect("embedded default.toml is valid")
    }

    /// Defaults, with `user` (path and text) layered on top.
    pub fn from_layers(user: Option<(&Path, &str)>) -> Result<Self> {
        let mut table = parse_table(DEFAULT_TOML, "<embedded defaults>")?;
        let origin = user.map_or("<embedded defaults>".to_string(), |(p, _)| {
            p.display().to_string()
        });
        if let Some((path, text)) = user {
            let over = parse_table(text, &path.display().to_string())?;
            merge(&mut table, over);
        }
        let de = toml::Value::Table(table);
        let mut config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            anyhow::anyhow!("config file {origin}: field `{field}`: {}", e.inner())
        })?;
        config
            .plugins
            .validate()
            .with_context(|| format!("config file {origin}"))?;
        if let Some((path, _)) = user {
            let base = path.parent().unwrap_or(Path::new("."));
            for p in &mut config.plugins.paths {
                if p.is_relative() {
                    *p = base.join(&*p);
                }
            }
        }
        Ok(config)
    }

    /// Loads `path`, or `./rdpbench.toml` when `path` is `None` and that file
    /// exists, or the defaults.
    pub fn load(path: Option<&Path>) -> Result<Self> {
        let implicit = Path::new(IMPLICIT_CONFIG);
        let path = match path {
            Some(p) => Some(p.to_path_buf()),
            None if implicit.is_file() => Some(implicit.to_path_buf()),
            None => None,
        };
        match path {
            None => Ok(Self::defaults()),
            Some(p) => {
                let text = std::fs::read_to_string(&p)
                    .with_context(|| format!("cannot read config file {}", p.display()))?;
                Self::from_layers(Some((&p, &text)))
            }
        }
    }
}

/// The settings' defaults are the embedded `default.toml`'s sections: the
/// one place that names default architectures.
macro_rules! defaults_from_toml {
    ($($ty:ty => $field:ident),* $(,)?) => {$(
        impl Default for $ty {
            fn default() -> Self {
                Config::defaults().$field
            }
        }
    )*};
}

defaults_from_toml!(
    crate::settings::BenchSettings => bench,
    crate::settings::RealSettings => real,
    crate::settings::PlantedSettings => planted,
    crate::settings::TrainSettings => train,
    crate::settings::ValiditySettings => validity,
    crate::settings::RdpSettings => reproduce,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_user_layer_overrides_one_key() {
        let d = Config::defaults();
        assert!(d.plugins.build_dir);
        assert_eq!(d.output.dir, PathBuf::from("rdpbench-out"));
        let c = Config::from_layers(Some((
            Path::new("/etc/x/rdpbench.toml"),
            "[plugins]\nmetrics = [\"a\"]\npaths = [\"p\"]\n",
        )))
        .unwrap();
        assert_eq!(c.plugins.metrics, vec!["a".to_string()]);
        assert!(c.plugins.build_dir, "untouched keys keep their defaults");
        assert_eq!(c.plugins.paths, vec![PathBuf::from("/etc/x/p")]);
    }

    #[test]
    fn embedded_defaults_equal_the_code_defaults() {
        let d = Config::defaults();
        assert_eq!(d.toy, rdpbench_core::toy::ToyConfig::default());
        assert_eq!(d.check, rdpbench_core::conditions::CheckSettings::default());
        assert_eq!(d.game, rdpbench_core::game::GameSettings::default());
        assert_eq!(d.train, crate::settings::TrainSettings::default());
        assert_eq!(d.validity, crate::settings::ValiditySettings::default());
        assert_eq!(d.bench, crate::settings::BenchSettings::default());
        assert_eq!(d.real, crate::settings::RealSettings::default());
        assert_eq!(d.planted, crate::settings::PlantedSettings::default());
    }

    #[test]
    fn switching_a_variant_replaces_its_table() {
        let c = Config::from_layers(Some((
            Path::new("z.toml"),
            "[toy.marginals]\nkind = \"zipf\"\np_min = 0.05\np_max = 0.2\nexponent = 1.0\n",
        )))
        .unwrap();
        assert!(matches!(
            c.toy.marginals,
            rdpbench_core::toy::Marginals::Zipf { .. }
        ));
        assert_eq!(c.toy.n_concepts, 16, "the rest of [toy] keeps its defaults");
    }

    #[test]
    fn nested_typo_names_the_full_path() {
        let err = Config::from_layers(Some((
            Path::new("n.toml"),
            "[check.tolerances]\natoll = 1\n",
        )))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("check.tolerances") && err.contains("atoll"),
            "{err}"
        );
    }

    #[test]
    fn typo_is_rejected_with_file_and_field_path() {
        let err = Config::from_layers(Some((
            Path::new("my.toml"),
            "[plugins]\nbuild_dri = false\n",
        )))
        .unwrap_err()
        .to_string();
        assert!(err.contains("my.toml"), "{err}");
        assert!(err.contains("plugins"), "{err}");
        assert!(err.contains("build_dri"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_field() {
        let err = Config::from_layers(Some((Path::new("my.toml"), "[output]\ndir = 3\n")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("output.dir"), "{err}");
    }
}
