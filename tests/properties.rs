//! Property tests: any refresh token round-trips through the Data format, and arbitrary bytes
//! as a handle or as stored Data never panic.

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use refresh_token_core::format::data::{decode, encode, encode_inner};
use refresh_token_core::format::json_text::write_string;
use refresh_token_core::format::key::refresh_token_key;
use refresh_token_core::model::{
    AccessTokenType, Claim, PersistedGrant, RefreshToken, Subject, Token, REFRESH_TOKEN_GRANT_TYPE,
};
use refresh_token_core::{
    Client, GrantStore, MemoryStore, Reason, RefreshRequest, RefreshTokenService, ServiceError,
};
use serde_json::Value;
use std::sync::Arc;

#[path = "common/duende_fixture.rs"]
mod duende_fixture;
use duende_fixture::duende_row_data;

/// Instants on the 100 ns tick between 1970 and 2200.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..7_258_118_400, 0u32..10_000_000)
        .prop_map(|(s, ticks)| Utc.timestamp_opt(s, ticks * 100).unwrap())
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-zA-Z0-9 _:/.+<>&'\"`\\\\-]{0,12}"]
}

fn claim() -> impl Strategy<Value = Claim> {
    (
        text(),
        text(),
        proptest::option::of(text()),
        proptest::option::of(text()),
    )
        .prop_map(|(t, v, vt, iss)| Claim {
            claim_type: t,
            value: v,
            // "...#string" is the reference's implicit default and is normalised to None.
            value_type: vt.filter(|s| s != refresh_token_core::model::STRING_CLAIM_VALUE_TYPE),
            issuer: iss,
        })
}

fn extra() -> impl Strategy<Value = Vec<(String, Value)>> {
    proptest::collection::vec(
        (
            "X[a-zA-Z]{0,8}",
            prop_oneof![
                any::<i64>().prop_map(Value::from),
                text().prop_map(Value::from),
                any::<bool>().prop_map(Value::from)
            ],
        ),
        0..3,
    )
    .prop_map(|mut v| {
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v.dedup_by(|a, b| a.0 == b.0);
        v
    })
}

fn token() -> impl Strategy<Value = Token> {
    (
        (
            proptest::collection::vec(text(), 0..3),
            proptest::option::of(text()),
            proptest::collection::vec(text(), 0..3),
            proptest::option::of(text()),
        ),
        (
            instant(),
            any::<i32>(),
            text(),
            proptest::option::of(text()),
            any::<i64>(),
        ),
        (
            proptest::option::of(text()),
            any::<bool>(),
            proptest::collection::vec(claim(), 0..4),
            any::<i64>(),
            extra(),
        ),
    )
        .prop_map(
            |((algs, cnf, aud, iss), (ct, lt, ty, cid, att), (desc, jti, claims, ver, extra))| {
                Token {
                    allowed_signing_algorithms: algs,
                    confirmation: cnf,
                    audiences: aud,
                    issuer: iss,
                    creation_time: ct,
                    lifetime: lt,
                    token_type: ty,
                    client_id: cid,
                    access_token_type: AccessTokenType(att),
                    description: desc,
                    include_jwt_id: jti,
                    claims,
                    version: ver,
                    extra,
                }
            },
        )
}

fn refresh_token() -> impl Strategy<Value = RefreshToken> {
    (
        (
            instant(),
            any::<i32>(),
            proptest::option::of(instant()),
            proptest::option::of(token()),
        ),
        (
            proptest::collection::vec((text(), token()), 0..3),
            proptest::option::of(text()),
            proptest::collection::vec(claim(), 0..4),
        ),
        (
            5i64..1000,
            text(),
            proptest::option::of(text()),
            proptest::option::of(text()),
        ),
        (
            proptest::collection::vec(text(), 0..4),
            proptest::option::of(proptest::collection::vec(text(), 0..3)),
            proptest::option::of(any::<i64>()),
            extra(),
        ),
    )
        .prop_map(
            |(
                (ct, lt, consumed, at),
                (ats, auth_type, subj),
                (ver, cid, sid, desc),
                (scopes, ri, proof, extra),
            )| {
                let mut access_tokens: Vec<(String, Token)> = Vec::new();
                for (k, t) in ats {
                    if !access_tokens.iter().any(|(x, _)| *x == k) {
                        access_tokens.push((k, t));
                    }
                }
                RefreshToken {
                    creation_time: ct,
                    lifetime: lt,
                    consumed_time: consumed,
                    access_token: at,
                    access_tokens,
                    subject: Subject {
                        authentication_type: auth_type,
                        claims: subj,
                    },
                    version: ver,
                    client_id: cid,
                    session_id: sid,
                    description: desc,
                    authorized_scopes: scopes,
                    authorized_resource_indicators: ri,
                    proof_type: proof,
                    lineage: proof.filter(|p| p % 2 == 0).map(|_| {
                        refresh_token_core::model::Lineage {
                            family_id: "F00D".into(),
                            issued_time: Some(ct),
                        }
                    }),
                    extra,
                }
            },
        )
}

fn service_with(store: Arc<MemoryStore>) -> RefreshTokenService {
    RefreshTokenService::builder(store).build().unwrap()
}

fn client() -> Client {
    let mut c = Client::new("web");
    c.allow_offline_access = true;
    c
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_refresh_token_round_trips_through_data(t in refresh_token()) {
        let data = encode(&t, None).unwrap();
        // Written in one pass, the envelope is the inner JSON escaped as a string, as the
        // reference writes it.
        let mut two_pass =
            String::from("{\"PersistentGrantDataContainerVersion\":1,\"DataProtected\":false,\"Payload\":");
        write_string(&mut two_pass, &encode_inner(&t));
        two_pass.push('}');
        prop_assert_eq!(&data, &two_pass);
        let back = decode(&data, None).unwrap();
        prop_assert_eq!(&back, &t);
        // And writing it again gives the same bytes.
        prop_assert_eq!(encode(&back, None).unwrap(), data);
    }

    #[test]
    fn arbitrary_handles_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let service = service_with(Arc::new(MemoryStore::new()));
        let handle = String::from_utf8_lossy(&bytes).into_owned();
        let v = service.validate(&handle, &client());
        prop_assert!(matches!(v, Err(ServiceError::Rejected(r)) if r.reason == Reason::NotFound));
        let r = service.refresh(&client(), RefreshRequest { handle: handle.clone().into(), ..Default::default() });
        prop_assert!(matches!(r, Err(ServiceError::Rejected(_))));
        prop_assert_eq!(service.revoke(&client(), &handle).is_ok(), !handle.is_empty());
    }

    #[test]
    fn arbitrary_stored_data_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400), mutate_at in any::<prop::sample::Index>(), with in any::<u8>()) {
        let store = Arc::new(MemoryStore::new());
        let service = service_with(store.clone());
        let handle = "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF-1";
        // Arbitrary bytes, and a valid row with one byte changed.
        let valid = duende_row().as_bytes().to_vec();
        let mut mutated = valid.clone();
        let i = mutate_at.index(mutated.len());
        mutated[i] = with;
        for data in [bytes.clone(), mutated] {
            store.store(&PersistedGrant {
                key: refresh_token_key(handle),
                grant_type: REFRESH_TOKEN_GRANT_TYPE.into(),
                subject_id: None,
                session_id: None,
                client_id: "web".into(),
                description: None,
                creation_time: Utc::now(),
                expiration: None,
                consumed_time: None,
                data: String::from_utf8_lossy(&data).into_owned(),
            }).unwrap();
            match service.validate(handle, &client()) {
                Ok(_) => {}
                Err(ServiceError::Rejected(_)) => {}
                Err(other) => prop_assert!(false, "unexpected error {other}"),
            }
            let _ = service.refresh(&client(), RefreshRequest { handle: handle.into(), ..Default::default() });
        }
    }
}

/// The Data column of a row the real Duende 7.4.8 wrote (../shared/fixtures/duende-7.4.8).
fn duende_row() -> &'static str {
    static DATA: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DATA.get_or_init(|| duende_row_data("02-reuse-absolute-unprotected"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The successor of a handle depends on the server secret, and neither the presented handle
    /// nor its successor can be read from what the store holds after a rotation.
    #[test]
    fn successors_depend_on_the_secret_and_no_handle_is_stored(
        handle_bytes in any::<[u8; 32]>(), s1 in any::<[u8; 32]>(), s2 in any::<[u8; 32]>(), delete in any::<bool>(),
    ) {
        use refresh_token_core::format::successor::SuccessorSecrets;
        prop_assume!(s1 != s2);
        let handle = format!("{}-1", hex::encode_upper(handle_bytes));
        let a = SuccessorSecrets::new(&s1).unwrap();
        let b = SuccessorSecrets::new(&s2).unwrap();
        prop_assert_ne!(a.successor(&handle), b.successor(&handle));
        prop_assert_eq!(a.successor(&handle), a.successor(&handle));

        let store = Arc::new(MemoryStore::new());
        let service = RefreshTokenService::builder(store.clone())
            .options(refresh_token_core::ServiceOptions {
                delete_one_time_only_refresh_tokens_on_use: delete,
                ..Default::default()
            })
            .successor_secrets(a)
            .build()
            .unwrap();
        let mut c = client();
        c.refresh_token_usage = refresh_token_core::model::TokenUsage::OneTimeOnly;
        let created = service
            .create(&c, refresh_token_core::CreateRequest::for_subject("alice", None, &["offline_access"]))
            .unwrap();
        let next = service
            .refresh(&c, refresh_token_core::RefreshRequest { handle: created.handle.as_str().into(), ..Default::default() })
            .unwrap();
        let stored = format!("{:?}", store.snapshot());
        for h in [created.handle.as_str(), next.handle.as_str()] {
            prop_assert!(!stored.contains(&h[..64]), "a handle is in the store");
        }
    }
}
