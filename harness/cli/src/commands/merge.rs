//! `rdpbench merge STAGE [stage options]`: the stage's result files from the
//! job records its shards (`--shard i/n`) left in the results folder's
//! `shards/<stage>/`, byte-identical to running the stage unsharded. The
//! options must be the shards' own: the merge derives the job list from
//! them and refuses records of another configuration.

use super::check::{self, CheckArgs};
use super::eval::{self, EvalArgs};
use super::real::{self, RealArgs};
use super::train::{self, TrainArgs};
use super::validity::{self, ValidityArgs};
use anyhow::Result;
use rdpbench_schema::config::Config;
use rdpbench_schema::exit::{Exit, usage_error};

#[derive(Debug, clap::Subcommand)]
pub enum MergeCommand {
    /// The check: check.json, check.csv, check.md, check.junit.xml, the
    /// case files under cases/ (and comparison.json with --baseline), then
    /// report.html; the exit code of the unsharded check.
    Check(CheckArgs),
    /// The train sweep: saes/train.json and saes/train.csv.
    Train(TrainArgs),
    /// The validity stage: validity.json, validity.csv, validity.md.
    Validity(ValidityArgs),
    /// The real stage: real.json, real.csv, real.md (SAE folders under
    /// real-saes/, written by the shards).
    Real(RealArgs),
    /// The evaluation of many SAEs: eval.json and eval.csv (check verdicts
    /// from the check.json this merge finds, as `rdpbench eval`).
    Eval(EvalArgs),
}

/// The exit code of a shard (`--shard i/n`) whose slice is recorded: 0.
/// A stage's own non-zero codes for a finished run (plugin load errors: 3)
/// belong to the merge, which rediscovers the same plugins and returns the
/// unsharded run's code; a shard that returned them would keep a
/// scheduler's `afterok` from ever starting the merge. `discovered` is the
/// code plugin discovery gave this shard: when it is not 0, stderr says
/// the merge will report it.
pub(crate) fn shard_exit(stage: &str, discovered: Exit) -> Exit {
    if discovered != Exit::Ok {
        eprintln!(
            "{stage} shard: the plugin errors above do not fail this shard (its records are              written); `rdpbench merge {stage}` reports them with exit code {}",
            discovered.code()
        );
    }
    Exit::Ok
}

fn no_shard(shard: Option<&String>) -> Result<()> {
    match shard {
        Some(s) => Err(usage_error(anyhow::anyhow!(
            "`rdpbench merge` combines every shard; it takes no --shard (got {s})"
        ))),
        None => Ok(()),
    }
}

/// Runs the merge of one stage.
pub fn merge(config: Config, command: MergeCommand) -> Result<Exit> {
    match command {
        MergeCommand::Check(mut args) => {
            no_shard(args.shard.as_ref())?;
            args.merge = true;
            check::check(config, args)
        }
        MergeCommand::Train(mut args) => {
            no_shard(args.shard.as_ref())?;
            args.merge = true;
            train::train(config, args)
        }
        MergeCommand::Validity(mut args) => {
            no_shard(args.shard.as_ref())?;
            args.merge = true;
            validity::validity(config, args)
        }
        MergeCommand::Real(mut args) => {
            no_shard(args.shard.as_ref())?;
            args.merge = true;
            real::real(config, args)
        }
        MergeCommand::Eval(mut args) => {
            no_shard(args.shard.as_ref())?;
            args.merge = true;
            eval::eval(config, args)
        }
    }
}
