//! Version comparison per scheme (the first byte picks semver, Debian, RPM or generic; the
//! two versions are split at the first newline). Comparing must be antisymmetric.
#![no_main]

use baken_matching::Scheme;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let scheme = [Scheme::Semver, Scheme::Debian, Scheme::Rpm, Scheme::Generic][pick as usize % 4];
    let (a, b) = text.split_once('\n').unwrap_or((text, text));
    let ab = scheme.compare(a, b);
    let ba = scheme.compare(b, a);
    if let (Ok(ab), Ok(ba)) = (ab, ba) {
        assert_eq!(ab, ba.reverse(), "{scheme:?}: {a:?} against {b:?}");
    }
});
