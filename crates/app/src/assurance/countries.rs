//! The country profiles a deployment offers: India and Russia are built in (`countries/` in
//! this crate); another is a TOML file of the same shape named in `profile.countries`, with
//! the translations of its names. Nothing else changes for a new country.

use ekdwar_domain::profile::CountryProfile;

const BUILT_IN: &[(&str, &str)] = &[
    ("in", include_str!("../../countries/in.toml")),
    ("ru", include_str!("../../countries/ru.toml")),
];

/// The country profiles offered, the first for people who choose none.
#[derive(Debug, Clone)]
pub struct Countries(Vec<CountryProfile>);

impl Countries {
    /// Reads `names` (built-in codes or paths of TOML files) and checks each.
    pub fn load(names: &[String]) -> anyhow::Result<Self> {
        let mut out: Vec<CountryProfile> = Vec::new();
        for name in names {
            let text = match BUILT_IN.iter().find(|(code, _)| code == name) {
                Some((_, text)) => (*text).to_string(),
                None => std::fs::read_to_string(name).map_err(|e| {
                    anyhow::anyhow!("profile.countries: {name} is neither built in (in, ru) nor a readable file: {e}")
                })?,
            };
            let profile: CountryProfile = toml::from_str(&text)
                .map_err(|e| anyhow::anyhow!("profile.countries: {name}: {e}"))?;
            if let Some(problem) = profile.problems().into_iter().next() {
                anyhow::bail!("profile.countries: {problem}");
            }
            if out.iter().any(|p| p.code == profile.code) {
                anyhow::bail!("profile.countries: {} is named twice", profile.code);
            }
            out.push(profile);
        }
        anyhow::ensure!(
            !out.is_empty(),
            "profile.countries names no country profile"
        );
        Ok(Self(out))
    }

    /// The profile of `code`.
    pub fn get(&self, code: &str) -> Option<&CountryProfile> {
        self.0.iter().find(|p| p.code == code)
    }

    /// The profile for people who choose none.
    pub fn first(&self) -> &CountryProfile {
        &self.0[0]
    }

    /// The codes offered, in order.
    pub fn codes(&self) -> Vec<String> {
        self.0.iter().map(|p| p.code.clone()).collect()
    }

    /// Every profile, in order.
    pub fn all(&self) -> &[CountryProfile] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_profiles_read_and_a_third_comes_from_a_file() {
        let c = Countries::load(&["ru".into(), "in".into()]).unwrap();
        assert_eq!(c.first().code, "ru");
        assert_eq!(c.codes(), ["ru", "in"]);
        assert!(c.get("in").unwrap().registries().contains(&"uidai"));
        let dir = tempfile::tempdir().unwrap();
        let kz = dir.path().join("kz.toml");
        std::fs::write(
            &kz,
            "code = \"kz\"\ncitizenship = \"KZ\"\ngenders = [\"female\", \"male\"]\npostcode = \"^[0-9]{6}$\"\n\
             documents = []\n[[identifiers]]\nkind = \"pan\"\nregistry = \"x\"\n",
        )
        .unwrap();
        let with_kz = Countries::load(&["in".into(), kz.display().to_string()]).unwrap();
        assert_eq!(with_kz.codes(), ["in", "kz"]);
        std::fs::write(&kz, "code = \"kz\"\n").unwrap();
        assert!(Countries::load(&[kz.display().to_string()]).is_err());
        assert!(Countries::load(&["in".into(), "in".into()]).is_err());
        assert!(Countries::load(&["xx".into()]).is_err());
    }
}
