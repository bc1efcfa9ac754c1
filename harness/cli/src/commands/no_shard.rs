//! `--shard` on a stage that cannot be sharded: accepted by the parser so
//! the refusal can say why and what can be sharded, instead of clap's bare
//! "unexpected argument".

use anyhow::Result;
use rdpbench_schema::exit::usage_error;

/// The stages `--shard`, `rdpbench merge` and `rdpbench slurm` take.
pub const SHARDABLE: &str = "train, validity, eval, check, real";

/// Why `command` takes no `--shard` (docs/slurm.md's table says the same).
fn why(command: &str) -> &'static str {
    match command {
        "bench" => {
            "its results are wall-clock timings, which differ on every run and every node, \
             so no merge of shards can be byte-identical to one machine's bench.json, and \
             timings measured on different nodes are not comparable"
        }
        _ => "it is not sharded yet",
    }
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct NoShard {
    /// Not available for this stage (refused); shardable stages: train, validity, eval, check, real.
    #[arg(long, value_name = "I/N", hide = true)]
    shard: Option<String>,
}

impl NoShard {
    /// A usage error (exit 2) when `--shard` was given to `command`.
    pub fn refuse(&self, command: &str) -> Result<()> {
        match &self.shard {
            Some(s) => Err(usage_error(anyhow::anyhow!(
                "`rdpbench {command} --shard {s}`: {command} cannot be sharded: {}; \
                 the stages that take --shard are: {SHARDABLE}. Run it without --shard.",
                why(command)
            ))),
            None => Ok(()),
        }
    }
}
