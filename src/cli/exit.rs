//! How a run ends: the process's exit status, as a type.

/// The exit status of a run, ordered by severity (a later problem never lowers it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// 0: every photo rendered or skipped (or nothing went wrong).
    Ok,
    /// 1: one or more photos failed.
    Failed,
    /// 2: usage or configuration error; nothing was rendered.
    Usage,
    /// 128 + N: interrupted by signal N (130 for SIGINT, 143 for SIGTERM).
    Signal(i32),
}

impl Exit {
    /// The numeric status.
    pub fn code(self) -> i32 {
        match self {
            Exit::Ok => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::Signal(n) => 128 + n,
        }
    }

    /// From clap's exit code (0 for `--help`/`--version`, otherwise a usage error).
    pub fn from_clap(code: i32) -> Exit {
        if code == 0 { Exit::Ok } else { Exit::Usage }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_severity() {
        let all = [
            Exit::Ok,
            Exit::Failed,
            Exit::Usage,
            Exit::Signal(2),
            Exit::Signal(15),
        ];
        let codes: Vec<i32> = all.iter().map(|e| e.code()).collect();
        assert_eq!(codes, [0, 1, 2, 130, 143]);
        // Ordered as the codes are: `max` keeps the more serious outcome.
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(Exit::Usage.max(Exit::Failed), Exit::Usage);
        assert_eq!(Exit::from_clap(0), Exit::Ok);
        assert_eq!(Exit::from_clap(2), Exit::Usage);
    }
}
