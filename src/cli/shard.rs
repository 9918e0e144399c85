//! `--shard`: which deterministic slice of the sorted input list this run processes, given as
//! `I/N` or read from a job scheduler's environment with `auto` / `auto/N`.
//!
//! Schedulers read by `auto` (index 0-based in the environment, 1-based in fstop):
//! * **Kubernetes Indexed Job**: `JOB_COMPLETION_INDEX`; the count is not in the pod's
//!   environment, so it comes from `auto/N` or `FSTOP_SHARD_COUNT` (set it to the Job's
//!   `completions`).
//! * **Slurm job array**: `SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_COUNT`, with
//!   `SLURM_ARRAY_TASK_MIN` (default 0) and `SLURM_ARRAY_TASK_STEP` (default 1), so
//!   `--array=1-8` and `--array=0-14:2` both give shards 1…N. An `auto/N` count must agree.
//!
//! Both present, or neither, is an error that names the variables.

use std::fmt;

/// A validated slice: `index` of `count`, 1-based, `1 ≤ index ≤ count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: usize,
    count: usize,
}

impl Shard {
    /// `None` unless `1 ≤ index ≤ count`.
    pub fn new(index: usize, count: usize) -> Option<Shard> {
        (count > 0 && index > 0 && index <= count).then_some(Shard { index, count })
    }

    /// 1-based index.
    pub fn index(self) -> usize {
        self.index
    }

    pub fn count(self) -> usize {
        self.count
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// `--shard` as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardArg {
    /// `I/N`.
    Fixed(Shard),
    /// `auto` (count from the environment) or `auto/N`.
    Auto { count: Option<usize> },
}

/// Parses `I/N`, `auto` or `auto/N` (clap value parser).
pub fn parse_shard(s: &str) -> Result<ShardArg, String> {
    let err =
        || format!("'{s}' is not a shard: expected I/N with 1 ≤ I ≤ N (e.g. 2/8), auto or auto/N");
    let t = s.trim();
    if t == "auto" {
        return Ok(ShardArg::Auto { count: None });
    }
    let (i, n) = t.split_once('/').ok_or_else(err)?;
    let count: usize = n.trim().parse().map_err(|_| err())?;
    if i.trim() == "auto" {
        return match count {
            0 => Err(err()),
            _ => Ok(ShardArg::Auto { count: Some(count) }),
        };
    }
    let index: usize = i.trim().parse().map_err(|_| err())?;
    Shard::new(index, count)
        .map(ShardArg::Fixed)
        .ok_or_else(err)
}

/// Why `--shard auto` found no shard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardEnvError {
    #[error(
        "--shard auto found no job scheduler: set JOB_COMPLETION_INDEX (Kubernetes Indexed \
         Job) with FSTOP_SHARD_COUNT or --shard auto/N, or run as a Slurm job array \
         (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT)"
    )]
    NoScheduler,
    #[error(
        "--shard auto found both JOB_COMPLETION_INDEX and SLURM_ARRAY_TASK_ID; give --shard I/N"
    )]
    Ambiguous,
    #[error("--shard auto: {name}={value} is not a whole number")]
    NotANumber { name: &'static str, value: String },
    #[error(
        "--shard auto: JOB_COMPLETION_INDEX is set but not the count: set FSTOP_SHARD_COUNT \
         to the Job's completions, or give --shard auto/N"
    )]
    NoCount,
    #[error("--shard auto: {variable} gives shard {index} of {count}, outside 1–{count}")]
    OutOfRange {
        variable: &'static str,
        index: usize,
        count: usize,
    },
    #[error("--shard auto/{given}: the Slurm array has {found} tasks (SLURM_ARRAY_TASK_COUNT)")]
    CountMismatch { given: usize, found: usize },
}

impl ShardArg {
    /// The shard, reading the scheduler's variables through `env` for `auto`.
    pub fn resolve(self, env: impl Fn(&str) -> Option<String>) -> Result<Shard, ShardEnvError> {
        match self {
            ShardArg::Fixed(shard) => Ok(shard),
            ShardArg::Auto { count } => from_env(count, env),
        }
    }
}

fn number(
    env: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<usize>, ShardEnvError> {
    match env(name) {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| ShardEnvError::NotANumber { name, value: v }),
    }
}

fn from_env(
    given_count: Option<usize>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Shard, ShardEnvError> {
    let k8s = number(&env, "JOB_COMPLETION_INDEX")?;
    let slurm = number(&env, "SLURM_ARRAY_TASK_ID")?;
    let (variable, index0, count) = match (k8s, slurm) {
        (Some(_), Some(_)) => return Err(ShardEnvError::Ambiguous),
        (None, None) => return Err(ShardEnvError::NoScheduler),
        (Some(i), None) => {
            let count = match given_count {
                Some(n) => n,
                None => number(&env, "FSTOP_SHARD_COUNT")?.ok_or(ShardEnvError::NoCount)?,
            };
            ("JOB_COMPLETION_INDEX", Some(i), count)
        }
        (None, Some(id)) => {
            let count =
                number(&env, "SLURM_ARRAY_TASK_COUNT")?.ok_or(ShardEnvError::NoScheduler)?;
            if let Some(given) = given_count.filter(|&g| g != count) {
                return Err(ShardEnvError::CountMismatch {
                    given,
                    found: count,
                });
            }
            let min = number(&env, "SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let step = number(&env, "SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
            let index0 = id
                .checked_sub(min)
                .filter(|offset| offset % step == 0)
                .map(|offset| offset / step);
            ("SLURM_ARRAY_TASK_ID", index0, count)
        }
    };
    let out_of_range = || ShardEnvError::OutOfRange {
        variable,
        index: index0.map_or(0, |i| i.saturating_add(1)),
        count,
    };
    let index0 = index0.ok_or_else(out_of_range)?;
    Shard::new(index0 + 1, count).ok_or_else(out_of_range)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn auto(count: Option<usize>) -> ShardArg {
        ShardArg::Auto { count }
    }

    #[test]
    fn parses_fixed_and_auto() {
        assert_eq!(
            parse_shard("2/8"),
            Ok(ShardArg::Fixed(Shard::new(2, 8).unwrap()))
        );
        assert_eq!(
            parse_shard("1/1"),
            Ok(ShardArg::Fixed(Shard::new(1, 1).unwrap()))
        );
        assert_eq!(parse_shard("auto"), Ok(auto(None)));
        assert_eq!(parse_shard("auto/6"), Ok(auto(Some(6))));
        for bad in [
            "0/4", "5/4", "1/0", "x/2", "2", "", "auto/0", "auto/x", "autox",
        ] {
            let e = parse_shard(bad).unwrap_err();
            assert!(e.starts_with(&format!("'{bad}' is not a shard")), "{e}");
        }
    }

    #[test]
    fn kubernetes_index_is_zero_based_with_a_count_from_flag_or_env() {
        let e = env(&[("JOB_COMPLETION_INDEX", "0"), ("FSTOP_SHARD_COUNT", "4")]);
        assert_eq!(auto(None).resolve(&e), Ok(Shard::new(1, 4).unwrap()));
        let e = env(&[("JOB_COMPLETION_INDEX", "3")]);
        assert_eq!(auto(Some(4)).resolve(&e), Ok(Shard::new(4, 4).unwrap()));
        assert_eq!(auto(None).resolve(&e), Err(ShardEnvError::NoCount));
        assert!(matches!(
            auto(Some(3)).resolve(&e),
            Err(ShardEnvError::OutOfRange {
                index: 4,
                count: 3,
                ..
            })
        ));
        let e = env(&[("JOB_COMPLETION_INDEX", "one"), ("FSTOP_SHARD_COUNT", "4")]);
        assert!(matches!(
            auto(None).resolve(&e),
            Err(ShardEnvError::NotANumber {
                name: "JOB_COMPLETION_INDEX",
                ..
            })
        ));
    }

    #[test]
    fn slurm_arrays_with_offsets_and_steps() {
        let e = env(&[
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "8"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ]);
        assert_eq!(auto(None).resolve(&e), Ok(Shard::new(5, 8).unwrap()));
        assert_eq!(auto(Some(8)).resolve(&e), Ok(Shard::new(5, 8).unwrap()));
        assert_eq!(
            auto(Some(4)).resolve(&e),
            Err(ShardEnvError::CountMismatch { given: 4, found: 8 })
        );
        // --array=0-14:2 → ids 0, 2, …, 14, eight tasks.
        let e = env(&[
            ("SLURM_ARRAY_TASK_ID", "14"),
            ("SLURM_ARRAY_TASK_COUNT", "8"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
        ]);
        assert_eq!(auto(None).resolve(&e), Ok(Shard::new(8, 8).unwrap()));
        // An id off the step, or below the minimum, is refused rather than guessed.
        let e = env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "8"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
        ]);
        assert!(matches!(
            auto(None).resolve(&e),
            Err(ShardEnvError::OutOfRange { .. })
        ));
        let e = env(&[
            ("SLURM_ARRAY_TASK_ID", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "8"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ]);
        assert!(matches!(
            auto(None).resolve(&e),
            Err(ShardEnvError::OutOfRange { .. })
        ));
    }

    #[test]
    fn no_scheduler_or_two_are_errors_that_name_the_variables() {
        let none = auto(None).resolve(env(&[])).unwrap_err();
        assert_eq!(none, ShardEnvError::NoScheduler);
        let text = none.to_string();
        for name in [
            "JOB_COMPLETION_INDEX",
            "SLURM_ARRAY_TASK_ID",
            "FSTOP_SHARD_COUNT",
        ] {
            assert!(text.contains(name), "{text}");
        }
        let both = env(&[
            ("JOB_COMPLETION_INDEX", "0"),
            ("FSTOP_SHARD_COUNT", "2"),
            ("SLURM_ARRAY_TASK_ID", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "2"),
        ]);
        assert_eq!(auto(None).resolve(both), Err(ShardEnvError::Ambiguous));
        // A fixed shard ignores the environment.
        let fixed = ShardArg::Fixed(Shard::new(2, 3).unwrap());
        assert_eq!(fixed.resolve(env(&[])), Ok(Shard::new(2, 3).unwrap()));
    }
}
