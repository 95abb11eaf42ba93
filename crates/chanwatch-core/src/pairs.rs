//! Named values sent with a request (auth params, HTTP headers): kept whole for sending,
//! shown only as [`crate::mask`] says for their kind, in `Debug` and when serialised.

use crate::mask::{shown_header, shown_param};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

/// What kind of values a [`Pairs`] holds, which decides which of them are shown
/// ([`crate::mask`] has the rule).
pub trait PairKind {
    fn shown(name: &str, value: &str) -> String;
}

/// Form fields or query parameters: see [`crate::mask::SHOWN_PARAMS`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParamKind;

/// HTTP headers: see [`crate::mask::SHOWN_HEADERS`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeaderKind;

impl PairKind for ParamKind {
    fn shown(name: &str, value: &str) -> String {
        shown_param(name, value)
    }
}

impl PairKind for HeaderKind {
    fn shown(name: &str, value: &str) -> String {
        shown_header(name, value)
    }
}

/// Auth params or headers. `Debug` and `Serialize` mask the values, as [`crate::mask`]
/// says for their kind.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Pairs<K = ParamKind>(pub BTreeMap<String, String>, PhantomData<K>);

pub type Params = Pairs<ParamKind>;
pub type Headers = Pairs<HeaderKind>;

impl<K: PairKind> Pairs<K> {
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The pairs in name order, owned (what the authorizers take).
    pub fn to_vec(&self) -> Vec<(String, String)> {
        self.0.clone().into_iter().collect()
    }

    /// Every entry of `lower` that `self` does not set: the higher layer wins per name.
    pub fn over(mut self, lower: Pairs<K>) -> Pairs<K> {
        for (k, v) in lower.0 {
            self.0.entry(k).or_insert(v);
        }
        self
    }

    fn shown(&self) -> BTreeMap<&str, String> {
        self.iter().map(|(k, v)| (k, K::shown(k, v))).collect()
    }
}

impl<K, N: Into<String>, V: Into<String>> FromIterator<(N, V)> for Pairs<K> {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Pairs<K> {
        Pairs(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            PhantomData,
        )
    }
}

impl<K: PairKind> fmt::Debug for Pairs<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.shown()).finish()
    }
}

impl<K: PairKind> Serialize for Pairs<K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.shown().serialize(s)
    }
}

impl<'de, K> Deserialize<'de> for Pairs<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Pairs<K>, D::Error> {
        Ok(Pairs(BTreeMap::deserialize(d)?, PhantomData))
    }
}
