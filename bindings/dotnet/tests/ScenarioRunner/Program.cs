// The `dotnet` runner of the cross-language scenarios (../shared/spec/scenarios.md).
//   dotnet ScenarioRunner.dll PATH...   (files or folders of *.json)
// Prints `PASS dotnet <name>` or `FAIL dotnet <name>: step <n> (<op>): <what differed>` and ends
// with `N passed, M failed`.

using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Claims;
using System.Text.Json;
using RefreshTokenCore;

var files = new List<string>();
foreach (string arg in args)
{
    if (Directory.Exists(arg)) files.AddRange(Directory.GetFiles(arg, "*.json").OrderBy(f => f, StringComparer.Ordinal));
    else files.Add(arg);
}
int passed = 0, failed = 0;
foreach (string file in files)
{
    string name = Path.GetFileNameWithoutExtension(file);
    try
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(file));
        if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("scenario", out JsonElement n) && n.ValueKind == JsonValueKind.String)
        {
            name = n.GetString()!;
        }
        using var scenario = new Scenario(doc.RootElement);
        scenario.Run();
        passed++;
        Console.WriteLine($"PASS dotnet {name}");
    }
    catch (Exception e) when (e is Failure or JsonException or IOException)
    {
        failed++;
        Console.WriteLine($"FAIL dotnet {name}: {e.Message}");
    }
}
Console.WriteLine($"{passed} passed, {failed} failed");
return failed == 0 && passed > 0 ? 0 : 1;

sealed class Failure : Exception
{
    public Failure(string message) : base(message) { }
}

/// <summary>Strict access to a JSON object: a field nobody read is an error naming it.</summary>
sealed class Fields
{
    private readonly string what;
    private readonly JsonElement obj;
    private readonly HashSet<string> used = new(StringComparer.Ordinal);

    public Fields(string what, JsonElement obj)
    {
        if (obj.ValueKind != JsonValueKind.Object) throw new Failure($"{what} is not an object");
        this.what = what;
        this.obj = obj;
    }

    public JsonElement? Get(string name)
    {
        used.Add(name);
        return obj.TryGetProperty(name, out JsonElement v) ? v : null;
    }

    public bool Has(string name) => obj.TryGetProperty(name, out _);

    public JsonElement Req(string name) => Get(name) ?? throw new Failure($"{what}: missing field '{name}'");

    public string? Str(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Null } => null,
        { ValueKind: JsonValueKind.String } v => v.GetString(),
        _ => throw new Failure($"{what}: '{name}' must be a string"),
    };

    public string ReqStr(string name) => Str(name) ?? throw new Failure($"{what}: missing field '{name}'");

    public bool? Bool(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => throw new Failure($"{what}: '{name}' must be a boolean"),
    };

    public long? Int(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } v when v.TryGetInt64(out long l) => l,
        _ => throw new Failure($"{what}: '{name}' must be an integer"),
    };

    public double? Num(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } v => v.GetDouble(),
        _ => throw new Failure($"{what}: '{name}' must be a number"),
    };

    public List<string>? Strings(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Array } v => v.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()! : throw new Failure($"{what}: '{name}' must hold strings")).ToList(),
        _ => throw new Failure($"{what}: '{name}' must be an array"),
    };

    /// <summary>Given: (true, value-or-null); absent: (false, null).</summary>
    public (bool Given, string? Value) StrOrNull(string name) => Get(name) switch
    {
        null => (false, null),
        { ValueKind: JsonValueKind.Null } => (true, null),
        { ValueKind: JsonValueKind.String } v => (true, v.GetString()),
        _ => throw new Failure($"expect.{name} must be a string or null"),
    };

    public void Finish(string suffix = "")
    {
        foreach (JsonProperty p in obj.EnumerateObject())
        {
            if (!used.Contains(p.Name)) throw new Failure($"{what}: unknown field '{p.Name}'{suffix}");
        }
    }
}

/// <summary>The host's store, written in C#, with fault injection for fail_store.</summary>
sealed class ScenarioStore : IPersistedGrantStore, IConditionalConsumeStore, IRotatingStore
{
    public enum Kind { Any, Get, Store, Remove }

    private readonly object gate = new();
    public readonly Dictionary<string, PersistedGrant> Rows = new(StringComparer.Ordinal);
    private readonly List<(Kind Kind, long Left)> plan = new();

    public void Fail(Kind kind, long times)
    {
        lock (gate) plan.Add((kind, times));
    }

    public List<PersistedGrant> Snapshot()
    {
        lock (gate) return Rows.Values.OrderBy(r => r.Key, StringComparer.Ordinal).ToList();
    }

    public void Put(PersistedGrant g)
    {
        lock (gate) Rows[g.Key] = g;
    }

    public PersistedGrant? Peek(string key)
    {
        lock (gate) return Rows.TryGetValue(key, out var r) ? r : null;
    }

    private void Check(Kind kind)
    {
        for (int i = 0; i < plan.Count; i++)
        {
            if (plan[i].Left > 0 && (plan[i].Kind == Kind.Any || plan[i].Kind == kind))
            {
                plan[i] = (plan[i].Kind, plan[i].Left - 1);
                throw new IOException($"injected {kind} failure");
            }
        }
    }

    public PersistedGrant? Get(string key)
    {
        lock (gate)
        {
            Check(Kind.Get);
            return Rows.TryGetValue(key, out var r) ? r : null;
        }
    }

    public void Store(PersistedGrant grant)
    {
        lock (gate)
        {
            Check(Kind.Store);
            Rows[grant.Key] = grant;
        }
    }

    public void Remove(string key)
    {
        lock (gate)
        {
            Check(Kind.Remove);
            Rows.Remove(key);
        }
    }

    public IReadOnlyList<PersistedGrant> GetAll(PersistedGrantFilter filter)
    {
        lock (gate)
        {
            Check(Kind.Get);
            return Rows.Values.Where(filter.Matches).ToList();
        }
    }

    public long RemoveAll(PersistedGrantFilter filter)
    {
        lock (gate)
        {
            Check(Kind.Remove);
            var keys = Rows.Values.Where(filter.Matches).Select(r => r.Key).ToList();
            keys.ForEach(k => Rows.Remove(k));
            return keys.Count;
        }
    }

    public int RemoveExpired(DateTime now, int batchSize) => RemoveOlder(r => r.Expiration, now, batchSize);

    public int RemoveConsumed(DateTime before, int batchSize) => RemoveOlder(r => r.ConsumedTime, before, batchSize);

    private int RemoveOlder(Func<PersistedGrant, DateTime?> due, DateTime limit, int batch)
    {
        lock (gate)
        {
            Check(Kind.Remove);
            var keys = Rows.Values.Where(r => due(r) is { } t && t < limit).OrderBy(r => due(r)).Take(batch).Select(r => r.Key).ToList();
            keys.ForEach(k => Rows.Remove(k));
            return keys.Count;
        }
    }

    /// <summary>One transaction: a planned failure of either the consume's kind or the
    /// successor's write fails it as a whole.</summary>
    public ConsumeOutcome TryRotate(string key, PersistedGrant? replacement, PersistedGrant successor)
    {
        lock (gate)
        {
            Check(replacement is null ? Kind.Remove : Kind.Store);
            if (replacement is null) Check(Kind.Store);
            ConsumeOutcome outcome = Consume(key, replacement);
            if (outcome == ConsumeOutcome.Won) Rows.TryAdd(successor.Key, successor);
            return outcome;
        }
    }

    public ConsumeOutcome TryConsume(string key, PersistedGrant? replacement)
    {
        lock (gate)
        {
            Check(replacement is null ? Kind.Remove : Kind.Store);
            return Consume(key, replacement);
        }
    }

    private ConsumeOutcome Consume(string key, PersistedGrant? replacement)
    {
        if (!Rows.TryGetValue(key, out var existing)) return ConsumeOutcome.NotFound;
        if (replacement is null)
        {
            Rows.Remove(key);
            return ConsumeOutcome.Won;
        }
        if (existing.ConsumedTime is not null) return ConsumeOutcome.AlreadyConsumed;
        Rows[key] = replacement;
        return ConsumeOutcome.Won;
    }
}

/// <summary>A clock that moves only when told to.</summary>
sealed class ManualTime : TimeProvider
{
    public DateTimeOffset Now;
    public override DateTimeOffset GetUtcNow() => Now;
}

sealed class Scenario : IDisposable
{
    private readonly JsonElement doc;
    private readonly ScenarioStore store = new();
    private readonly ManualTime time = new();
    private readonly Dictionary<string, bool> active = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Client> clients = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> names = new(StringComparer.Ordinal);
    private RefreshTokenService? service;

    public Scenario(JsonElement doc) => this.doc = doc;

    public void Dispose() => service?.Dispose();

    private RefreshTokenService Svc => service!;

    static DateTime Time(string s) =>
        DateTime.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out DateTime t)
            ? t : throw new Failure($"'{s}' is not an RFC 3339 time");

    static string Show(DateTime? t) => t is { } v ? v.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture) : "null";

    static void Eq<T>(string what, T want, T got)
    {
        if (!EqualityComparer<T>.Default.Equals(want, got)) throw new Failure($"{what}: expected {want}, got {got}");
    }

    static Client Apply(Client c, JsonElement v, string what)
    {
        var f = new Fields(what, v);
        if (f.Bool("allow_offline_access") is { } off) c = c with { AllowOfflineAccess = off };
        if (f.Str("refresh_token_usage") is { } u)
            c = c with { RefreshTokenUsage = u switch { "ReUse" => TokenUsage.ReUse, "OneTimeOnly" => TokenUsage.OneTimeOnly, _ => throw new Failure($"{what}: unknown refresh_token_usage '{u}'") } };
        if (f.Str("refresh_token_expiration") is { } e)
            c = c with { RefreshTokenExpiration = e switch { "Absolute" => TokenExpiration.Absolute, "Sliding" => TokenExpiration.Sliding, _ => throw new Failure($"{what}: unknown refresh_token_expiration '{e}'") } };
        if (f.Int("absolute_refresh_token_lifetime") is { } a) c = c with { AbsoluteRefreshTokenLifetime = (int)a };
        if (f.Int("sliding_refresh_token_lifetime") is { } s) c = c with { SlidingRefreshTokenLifetime = (int)s };
        if (f.Int("access_token_lifetime") is { } l) c = c with { AccessTokenLifetime = (int)l };
        if (f.Bool("update_access_token_claims_on_refresh") is { } m) c = c with { UpdateAccessTokenClaimsOnRefresh = m };
        if (f.Int("reuse_window_seconds") is { } w) c = c with { ReuseWindowSeconds = (int)w };
        f.Finish();
        return c;
    }

    public void Run()
    {
        var f = new Fields("scenario", doc);
        f.ReqStr("scenario");
        f.Str("about");
        time.Now = Time(f.ReqStr("start"));
        // The scenario format's defaults are the reference's: no reuse window.
        var options = new RefreshTokenServiceOptions { Store = store, TimeProvider = time, IsActive = (sub, _) => !active.TryGetValue(sub, out bool a) || a, ReuseWindowSeconds = 0 };
        if (f.Get("options") is { } o)
        {
            var of = new Fields("options", o);
            if (of.Bool("delete_one_time_only_refresh_tokens_on_use") is { } d) options.DeleteOneTimeOnlyRefreshTokensOnUse = d;
            if (of.Get("accept_consumed") is { } ac)
            {
                var af = new Fields("options.accept_consumed", ac);
                switch (af.ReqStr("policy"))
                {
                    case "reject": options.AcceptConsumed = AcceptConsumedPolicy.Reject; break;
                    case "grace":
                        options.AcceptConsumed = AcceptConsumedPolicy.Grace;
                        options.GraceSeconds = (int)(af.Int("seconds") ?? throw new Failure("grace policy needs 'seconds'"));
                        break;
                    case "revoke_on_replay": options.AcceptConsumed = AcceptConsumedPolicy.RevokeOnReplay; break;
                    case "host":
                        long within = af.Int("accept_within_seconds") ?? 0;
                        bool revoke = af.Bool("revoke_on_reject") ?? false;
                        options.AcceptConsumedToken = ctx =>
                        {
                            if (ctx.Now <= ctx.ConsumedTime.AddSeconds(within)) return true;
                            if (revoke) ctx.Service.RemoveRefreshTokensAsync(ctx.RefreshToken.SubjectId ?? "", ctx.RefreshToken.ClientId).GetAwaiter().GetResult();
                            return false;
                        };
                        break;
                    case var p: throw new Failure($"unknown accept_consumed policy '{p}'");
                }
                af.Finish();
            }
            if (of.Int("reuse_window_seconds") is { } rw) options.ReuseWindowSeconds = (int)rw;
            if (of.Str("replay_scope") is { } rs)
                options.ReplayScope = rs switch { "family" => ReplayScope.Family, "subject_and_client" => ReplayScope.SubjectAndClient, _ => throw new Failure($"unknown replay_scope '{rs}'") };
            if (of.Get("cleanup") is { } cl)
            {
                var cf = new Fields("options.cleanup", cl);
                if (cf.Bool("remove_consumed_tokens") is { } rc) options.RemoveConsumedTokens = rc;
                if (cf.Int("consumed_token_cleanup_delay") is { } delay) options.ConsumedTokenCleanupDelay = (int)delay;
                if (cf.Int("batch_size") is { } batch) options.TokenCleanupBatchSize = (int)batch;
                cf.Finish();
            }
            of.Finish();
        }
        if (f.Get("clients") is { } cs)
        {
            foreach (JsonProperty p in cs.EnumerateObject())
            {
                clients[p.Name] = Apply(new Client { ClientId = p.Name }, p.Value, $"clients.{p.Name}");
                options.Clients.Add(clients[p.Name]);
            }
        }
        service = new RefreshTokenService(options);
        JsonElement steps = f.Req("steps");
        f.Finish();
        int n = 0;
        foreach (JsonElement step in steps.EnumerateArray())
        {
            n++;
            string op = step.ValueKind == JsonValueKind.Object && step.TryGetProperty("op", out JsonElement o2) && o2.ValueKind == JsonValueKind.String ? o2.GetString()! : "?";
            List<PersistedGrant> before = store.Snapshot();
            try
            {
                bool retryableFailure = RunStep(step);
                if (retryableFailure && !before.SequenceEqual(store.Snapshot())) throw new Failure("failed on storage but changed the stored state");
            }
            catch (Failure e)
            {
                throw new Failure($"step {n} ({op}): {e.Message}");
            }
        }
    }

    private Client ClientOf(Fields s)
    {
        string id = s.ReqStr("client");
        if (!clients.TryGetValue(id, out Client? c)) clients[id] = c = new Client { ClientId = id };
        return c;
    }

    private string TokenOf(JsonElement v)
    {
        if (v.ValueKind == JsonValueKind.String) return names.TryGetValue(v.GetString()!, out string? h) ? h : throw new Failure($"no token named '{v.GetString()}'");
        var f = new Fields("token", v);
        string lit = f.ReqStr("literal");
        f.Finish();
        return lit;
    }

    private sealed record Outcome(bool Ok, string Error, string Reason, bool Retryable, RefreshToken? Token, string? Handle, string Message);

    private static Outcome Failed(RefreshTokenCoreException e) => new(false,
        e.Code switch { ResultCode.StorageUnavailable or ResultCode.StorageBadResponse => "storage_unavailable", ResultCode.CallbackFailed => "hook_failed", _ => e.Code.ToString() },
        "", e.IsRetryable, null, null, e.Message);

    private static string ReasonName(RefusalReason r) => r switch
    {
        RefusalReason.NotFound => "not_found",
        RefusalReason.Expired => "expired",
        RefusalReason.ClientMismatch => "client_mismatch",
        RefusalReason.OfflineAccessNotAllowed => "offline_access_not_allowed",
        RefusalReason.Consumed => "consumed",
        RefusalReason.SubjectInactive => "subject_inactive",
        RefusalReason.Malformed => "malformed",
        _ => "",
    };

    private static void CheckOutcome(Fields e, Outcome o, string presented, string op)
    {
        if (e.Bool("ok") is { } ok && ok != o.Ok) throw new Failure($"ok: expected {ok}, got {o.Ok}{(o.Ok ? "" : $" ({o.Error}: {o.Message})")}");
        if (e.Str("error") is { } err) Eq("error", err, o.Ok ? "" : o.Error);
        if (e.Str("reason") is { } reason) Eq("reason", reason, o.Reason);
        if (e.Bool("retryable") is { } retry) Eq("retryable", retry, o.Retryable);
        string[] tokenFields = { "subject", "client", "session_id", "scopes", "lifetime", "expires_at", "handle", "length" };
        if (!tokenFields.Any(e.Has)) return;
        if (!o.Ok || o.Token is null) throw new Failure($"expected a token, got {o.Error}: {o.Message}");
        RefreshToken t = o.Token;
        if (op != "create")
        {
            if (e.Str("subject") is { } sub) Eq("subject", sub, t.SubjectId);
            if (e.Str("client") is { } client) Eq("client", client, t.ClientId);
            var (given, sid) = e.StrOrNull("session_id");
            if (given) Eq("session_id", sid ?? "null", t.SessionId ?? "null");
            if (e.Strings("scopes") is { } scopes && !scopes.SequenceEqual(t.AuthorizedScopes)) throw new Failure($"scopes: got [{string.Join(",", t.AuthorizedScopes)}]");
        }
        if (e.Int("lifetime") is { } lifetime) Eq("lifetime", lifetime, (long)t.Lifetime);
        if (e.Str("expires_at") is { } exp) Eq("expires_at", Show(Time(exp)), Show(t.ExpiresAt));
        if (op == "refresh" && e.Str("handle") is { } hw)
        {
            bool same = o.Handle == presented;
            if (hw == "same" && !same) throw new Failure("handle: expected the same handle, got a new one");
            if (hw == "new" && same) throw new Failure("handle: expected a new handle, got the same one");
            if (hw is not ("same" or "new")) throw new Failure("expect.handle must be \"same\" or \"new\"");
        }
        if ((op == "create" || op == "refresh") && e.Int("length") is { } len) Eq("length", len, (long)(o.Handle?.Length ?? 0));
    }

    private static void Contains(JsonElement want, JsonElement got, string path)
    {
        if (want.ValueKind == JsonValueKind.Object && got.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty p in want.EnumerateObject())
            {
                if (!got.TryGetProperty(p.Name, out JsonElement g)) throw new Failure($"data: {path}.{p.Name} is missing");
                Contains(p.Value, g, $"{path}.{p.Name}");
            }
            return;
        }
        if (!JsonElement.DeepEquals(want, got)) throw new Failure($"data: {path}: expected {want.GetRawText()}, got {got.GetRawText()}");
    }

    private bool RunStep(JsonElement step)
    {
        var s = new Fields("step", step);
        string op = s.ReqStr("op");
        using JsonDocument empty = JsonDocument.Parse("{}");
        var e = new Fields($"{op}.expect", s.Get("expect") ?? empty.RootElement);
        bool retryableFailure = false;
        switch (op)
        {
            case "create":
            {
                Client client = ClientOf(s);
                string sub = s.ReqStr("subject");
                string? sid = s.Str("session_id");
                List<string> scopes = s.Strings("scopes") ?? throw new Failure("create: missing field 'scopes'");
                var extra = new List<Claim>();
                if (s.Get("claims") is { } claims)
                {
                    foreach (JsonElement c in claims.EnumerateArray())
                    {
                        var cf = new Fields("claim", c);
                        extra.Add(new Claim(cf.ReqStr("type"), cf.ReqStr("value")));
                        cf.Finish();
                    }
                }
                var at = new Token { Claims = new List<Claim> { new("client_id", client.ClientId) } };
                at.Claims.AddRange(scopes.Select(x => new Claim("scope", x)));
                at.Claims.Add(new Claim("sub", sub));
                if (sid is not null) at.Claims.Add(new Claim("sid", sid));
                at.Claims.AddRange(extra);
                var principal = new ClaimsPrincipal(new ClaimsIdentity(new[] { new Claim("sub", sub) }.Concat(extra), "Duende.IdentityServer"));
                string name = s.ReqStr("as");
                Outcome o;
                try
                {
                    var (handle, token) = Svc.CreateAsync(new RefreshTokenCreationRequest
                    {
                        Client = client,
                        Subject = principal,
                        AccessToken = at,
                        SessionId = sid,
                        Description = s.Str("description"),
                        AuthorizedScopes = scopes,
                    }).GetAwaiter().GetResult();
                    names[name] = handle;
                    o = new Outcome(true, "", "", false, token, handle, "");
                }
                catch (RefreshTokenCoreException ex)
                {
                    o = Failed(ex);
                    retryableFailure = o.Retryable;
                    if (!e.Has("ok")) throw new Failure($"create failed: {ex.Message}");
                }
                CheckOutcome(e, o, "", op);
                break;
            }
            case "validate":
            case "refresh":
            {
                Client client = ClientOf(s);
                string handle = TokenOf(s.Req("token"));
                string? asName = s.Str("as");
                Outcome o;
                try
                {
                    if (op == "validate")
                    {
                        TokenValidationResult v = Svc.ValidateRefreshTokenAsync(handle, client).GetAwaiter().GetResult();
                        o = v.IsError ? new Outcome(false, v.Error!, ReasonName(v.Reason), false, null, null, v.Reason.ToString()) : new Outcome(true, "", "", false, v.RefreshToken, null, "");
                    }
                    else
                    {
                        RefreshResult r = Svc.RefreshAsync(client, handle).GetAwaiter().GetResult();
                        if (r.IsError) o = new Outcome(false, r.Error!, ReasonName(r.Reason), false, null, null, r.Reason.ToString());
                        else
                        {
                            if (r.Rotated != (r.Handle != handle)) throw new Failure("Rotated disagrees with the handle");
                            if (asName is not null) names[asName] = r.Handle!;
                            o = new Outcome(true, "", "", false, r.RefreshToken, r.Handle, "");
                        }
                    }
                }
                catch (RefreshTokenCoreException ex)
                {
                    o = Failed(ex);
                    retryableFailure = o.Retryable;
                }
                CheckOutcome(e, o, handle, op);
                break;
            }
            case "advance":
                time.Now = time.Now.AddTicks((long)Math.Round((s.Num("seconds") ?? throw new Failure("advance: missing field 'seconds'")) * TimeSpan.TicksPerSecond));
                break;
            case "revoke":
            {
                Client client = ClientOf(s);
                string handle = TokenOf(s.Req("token"));
                Outcome o;
                try
                {
                    Svc.RevokeRefreshTokenAsync(handle, client).GetAwaiter().GetResult();
                    o = new Outcome(true, "", "", false, null, null, "");
                }
                catch (RefreshTokenCoreException ex)
                {
                    o = ex.Code == ResultCode.InvalidRequest ? new Outcome(false, "invalid_request", "malformed", false, null, null, ex.Message) : Failed(ex);
                    retryableFailure = o.Retryable;
                }
                if (e.Bool("ok") is { } ok) Eq("ok", ok, o.Ok);
                if (e.Str("error") is { } err) Eq("error", err, o.Ok ? "" : o.Error);
                if (e.Bool("retryable") is { } retry) Eq("retryable", retry, o.Retryable);
                break;
            }
            case "cleanup":
            {
                Outcome o;
                long removed = 0;
                try
                {
                    CleanupResult r = Svc.CleanupAsync().GetAwaiter().GetResult();
                    removed = r.ExpiredRemoved + r.ConsumedRemoved;
                    o = new Outcome(true, "", "", false, null, null, "");
                }
                catch (RefreshTokenCoreException ex)
                {
                    o = Failed(ex);
                    retryableFailure = o.Retryable;
                }
                if (e.Int("removed") is { } want)
                {
                    if (!o.Ok) throw new Failure($"cleanup failed: {o.Message}");
                    Eq("removed", want, removed);
                }
                if (e.Str("error") is { } err) Eq("error", err, o.Ok ? "" : o.Error);
                break;
            }
            case "inspect":
            {
                string handle = TokenOf(s.Req("token"));
                PersistedGrant? row = store.Peek(RefreshTokenService.GetPersistedGrantKey(handle));
                if (e.Bool("stored") is { } stored) Eq("stored", stored, row is not null);
                string[] fields = { "consumed_time", "creation_time", "expiration", "type", "subject_id", "client_id", "session_id", "data" };
                if (fields.Any(e.Has))
                {
                    if (row is null) throw new Failure("inspect: no stored row");
                    void T(string n, DateTime? got)
                    {
                        var (given, v) = e.StrOrNull(n);
                        if (given) Eq(n, v is null ? "null" : Show(Time(v)), Show(got));
                    }
                    T("consumed_time", row.ConsumedTime);
                    T("creation_time", row.CreationTime);
                    T("expiration", row.Expiration);
                    if (e.Str("type") is { } type) Eq("type", type, row.Type);
                    var (gs, sub) = e.StrOrNull("subject_id");
                    if (gs) Eq("subject_id", sub ?? "null", row.SubjectId ?? "null");
                    if (e.Str("client_id") is { } cid) Eq("client_id", cid, row.ClientId);
                    var (gsid, sid) = e.StrOrNull("session_id");
                    if (gsid) Eq("session_id", sid ?? "null", row.SessionId ?? "null");
                    if (e.Get("data") is { } want)
                    {
                        using JsonDocument outer = JsonDocument.Parse(row.Data);
                        if (outer.RootElement.TryGetProperty("Payload", out JsonElement p) && p.ValueKind == JsonValueKind.String)
                        {
                            using JsonDocument inner = JsonDocument.Parse(p.GetString()!);
                            Contains(want, inner.RootElement, "Data");
                        }
                        else
                        {
                            Contains(want, outer.RootElement, "Data");
                        }
                    }
                }
                break;
            }
            case "count":
            {
                var ff = new Fields("count.filter", s.Req("filter"));
                var filter = new PersistedGrantFilter { SubjectId = ff.Str("subject"), ClientId = ff.Str("client"), SessionId = ff.Str("session_id"), Type = ff.Str("type") };
                ff.Finish();
                int rows = store.Snapshot().Count(filter.Matches);
                if (e.Int("rows") is { } want) Eq("rows", want, (long)rows);
                break;
            }
            case "set_client":
            {
                Client c = ClientOf(s);
                clients[c.ClientId] = Apply(c, s.Req("settings"), "set_client.settings");
                break;
            }
            case "set_active":
                active[s.ReqStr("subject")] = s.Bool("active") ?? throw new Failure("set_active: missing field 'active'");
                break;
            case "fail_store":
            {
                string o = s.ReqStr("operation");
                ScenarioStore.Kind kind = o switch
                {
                    "get" => ScenarioStore.Kind.Get,
                    "store" => ScenarioStore.Kind.Store,
                    "remove" => ScenarioStore.Kind.Remove,
                    "any" => ScenarioStore.Kind.Any,
                    _ => throw new Failure($"fail_store: unknown operation '{o}'"),
                };
                store.Fail(kind, s.Int("times") ?? throw new Failure("fail_store: missing field 'times'"));
                break;
            }
            case "import":
            {
                var r = new Fields("import.row", s.Req("row"));
                var g = new PersistedGrant
                {
                    Key = r.ReqStr("Key"),
                    Type = r.ReqStr("Type"),
                    SubjectId = r.Str("SubjectId"),
                    SessionId = r.Str("SessionId"),
                    ClientId = r.ReqStr("ClientId"),
                    Description = r.Str("Description"),
                    CreationTime = Time(r.ReqStr("CreationTime")),
                    Expiration = r.Str("Expiration") is { } x ? Time(x) : null,
                    ConsumedTime = r.Str("ConsumedTime") is { } c ? Time(c) : null,
                    Data = r.ReqStr("Data"),
                };
                r.Finish();
                store.Put(g);
                break;
            }
            case "key":
            {
                string handle = TokenOf(s.Req("token"));
                if (e.Str("key") is { } want) Eq("key", want, RefreshTokenService.GetPersistedGrantKey(handle));
                break;
            }
            default:
                throw new Failure($"unknown op '{op}'");
        }
        s.Finish();
        e.Finish($" (not an expectation of {op})");
        return retryableFailure;
    }
}
