//! `customData`: what CDEvents cannot say, read under the native v1 names,
//! and the two shapes of its `changes` (a deploy's change objects, a work
//! item's commit ids).

use std::borrow::Cow;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::domain::Change;
use crate::domain::event::InvalidReason;
use crate::ingest::decode::json::{Text, changes};
use crate::ingest::decode::wire::ChangeV1;

/// `customData`: what CDEvents cannot say, under the native v1 names.
#[derive(Deserialize, Default)]
pub(super) struct CustomData<'a> {
    #[serde(borrow, default)]
    pub(super) team: Option<Text<'a>>,
    /// A deploy's changes are objects (`{"id", "committed_at"}`), a work
    /// item's are commit ids.
    #[serde(borrow, default)]
    pub(super) changes: Vec<ChangeEntry<'a>>,
    #[serde(borrow, default)]
    pub(super) features: Vec<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) started_at: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) rollback_of: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) fixes_incident: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) caused_by_deploy: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) opened_at: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) service: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) state: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) category: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) environment: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) deploys: Vec<Text<'a>>,
}

/// One entry of `customData.changes`: a commit id or a change object.
pub(super) enum ChangeEntry<'a> {
    /// A bare commit id (a work item's link).
    Id(Text<'a>),
    /// A change object (a deploy's, with its commit time).
    Change(ChangeV1<'a>),
}

impl<'de: 'a, 'a> Deserialize<'de> for ChangeEntry<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EntryVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for EntryVisitor<'a> {
            type Value = ChangeEntry<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a commit id or a change object")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(ChangeEntry::Id(Text(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ChangeEntry::Id(Text(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(ChangeEntry::Id(Text(Cow::Owned(v))))
            }
            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Self::Value, M::Error> {
                ChangeV1::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(ChangeEntry::Change)
            }
        }
        d.deserialize_any(EntryVisitor(PhantomData))
    }
}

/// A deploy's changes: objects only (a bare id has no commit time).
pub(super) fn deploy_changes(
    entries: Vec<ChangeEntry<'_>>,
) -> Result<Vec<Change<'_>>, InvalidReason> {
    let objects = entries
        .into_iter()
        .map(|e| match e {
            ChangeEntry::Change(c) => Ok(c),
            ChangeEntry::Id(_) => Err(InvalidReason::WrongType),
        })
        .collect::<Result<Vec<_>, _>>()?;
    changes(objects)
}

/// `customData` may be any JSON value (or a string in another content
/// type): only an object is read, anything else counts as absent.
pub(super) fn custom_data<'de: 'a, 'a, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<CustomData<'a>>, D::Error> {
    struct AnyValue<'a>(PhantomData<&'a ()>);
    impl<'de: 'a, 'a> Visitor<'de> for AnyValue<'a> {
        type Value = Option<CustomData<'a>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Self::Value, M::Error> {
            CustomData::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some)
        }
        fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(self)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(AnyValue(PhantomData))
}
