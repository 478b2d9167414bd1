//! `process.roles`: what a node of a quorum does. A controller is a Raft voter; a broker registers and
//! hosts partitions.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Roles {
    pub broker: bool,
    pub controller: bool,
}

impl Roles {
    /// Reads a value `parse` accepted.
    pub fn of(value: &str) -> Roles {
        let has = |role| value.split(',').any(|r| r.trim() == role);
        Roles {
            broker: has("broker"),
            controller: has("controller"),
        }
    }
}

/// clap value parser: a non-empty comma-separated subset of broker, controller.
pub fn parse(value: &str) -> Result<String, String> {
    let mut any = false;
    for role in value.split(',').map(str::trim) {
        if role != "broker" && role != "controller" {
            return Err(format!(
                "unknown role '{role}': use broker, controller or broker,controller"
            ));
        }
        any = true;
    }
    if !any {
        return Err("no role given".into());
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse() {
        assert!(parse("broker,controller").is_ok());
        assert!(parse("controller").is_ok());
        assert!(parse("broker,zookeeper").is_err());
        assert_eq!(
            Roles::of("controller, broker"),
            Roles {
                broker: true,
                controller: true
            }
        );
        assert!(!Roles::of("controller").broker);
    }
}
