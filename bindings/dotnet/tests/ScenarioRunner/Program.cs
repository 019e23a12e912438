// The `dotnet` runner of the cross-language scenarios (../shared/spec/scenarios.md): executes the
// judge's plans (tests/scenarios/judge) through the C# bindings, with the storage, clock,
// is-active and accept-consumed callbacks written in C#.
//   dotnet ScenarioRunner.dll [--async] < PLANS   (one plan per line; tests/scenarios/run pipes them through the judge)
// Writes one observation per step as a JSON line; it checks no expectation: the judge does.
// With --async the same store and hooks are asynchronous (IGrantStore, IsActiveAsync,
// AcceptConsumedTokenAsync): every answer completes later, on a thread-pool thread.

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using RefreshTokenCore;

bool answerLater = args.Length > 0 && args[0] == "--async";
string? line;
while ((line = Console.In.ReadLine()) is not null)
{
    using JsonDocument plan = JsonDocument.Parse(line);
    using var scenario = new Scenario(plan.RootElement, answerLater);
    foreach (JsonObject o in scenario.Run())
    {
        o["scenario"] = plan.RootElement.GetProperty("index").GetInt32();
        Console.Out.WriteLine(o.ToJsonString());
    }
}
return 0;

/// <summary>A step the runner could not execute (the judge reports it as the runner's failure).</summary>
sealed class Fault : Exception
{
    public Fault(string message) : base(message) { }
}

/// <summary>The scenario store, asynchronous: every call answers later, from a thread-pool thread.</summary>
sealed class LaterStore : IGrantStore, IConditionalConsumeGrantStore, IRotatingGrantStore
{
    private readonly ScenarioStore inner;

    public LaterStore(ScenarioStore inner) => this.inner = inner;

    private static async ValueTask<T> Later<T>(Func<T> answer)
    {
        await Task.Yield();
        return answer();
    }

    public ValueTask<StoredGrant?> GetAsync(string key, CancellationToken ct) => Later(() => inner.Get(key));
    public async ValueTask StoreAsync(StoredGrant grant, CancellationToken ct) => await Later(() => { inner.Store(grant); return 0; });
    public async ValueTask RemoveAsync(string key, CancellationToken ct) => await Later(() => { inner.Remove(key); return 0; });
    public ValueTask<IReadOnlyList<StoredGrant>> GetAllAsync(StoredGrantFilter filter, CancellationToken ct) => Later(() => inner.GetAll(filter));
    public ValueTask<long> RemoveAllAsync(StoredGrantFilter filter, CancellationToken ct) => Later(() => inner.RemoveAll(filter));
    public ValueTask<int> RemoveExpiredAsync(DateTime now, int batchSize, CancellationToken ct) => Later(() => inner.RemoveExpired(now, batchSize));
    public ValueTask<int> RemoveConsumedAsync(DateTime before, int batchSize, CancellationToken ct) => Later(() => inner.RemoveConsumed(before, batchSize));
    public ValueTask<ConsumeOutcome> TryConsumeAsync(string key, StoredGrant? replacement, CancellationToken ct) => Later(() => inner.TryConsume(key, replacement));
    public ValueTask<ConsumeOutcome> TryRotateAsync(string key, StoredGrant? replacement, StoredGrant successor, CancellationToken ct) => Later(() => inner.TryRotate(key, replacement, successor));
}

/// <summary>The host's store, written in C#, with fault injection for fail_store.</summary>
sealed class ScenarioStore : IBlockingGrantStore, IBlockingConditionalConsumeStore, IBlockingRotatingStore
{
    public enum Kind { Any, Get, Store, Remove }

    private readonly object gate = new();
    public readonly Dictionary<string, StoredGrant> Rows = new(StringComparer.Ordinal);
    private readonly List<(Kind Kind, long Left)> plan = new();

    public void Fail(Kind kind, long times)
    {
        lock (gate) plan.Add((kind, times));
    }

    public List<StoredGrant> Snapshot()
    {
        lock (gate) return Rows.Values.OrderBy(r => r.Key, StringComparer.Ordinal).ToList();
    }

    public void Put(StoredGrant g)
    {
        lock (gate) Rows[g.Key] = g;
    }

    public StoredGrant? Peek(string key)
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

    public StoredGrant? Get(string key)
    {
        lock (gate)
        {
            Check(Kind.Get);
            return Rows.TryGetValue(key, out var r) ? r : null;
        }
    }

    public void Store(StoredGrant grant)
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

    public IReadOnlyList<StoredGrant> GetAll(StoredGrantFilter filter)
    {
        lock (gate)
        {
            Check(Kind.Get);
            return Rows.Values.Where(filter.Matches).ToList();
        }
    }

    public long RemoveAll(StoredGrantFilter filter)
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

    private int RemoveOlder(Func<StoredGrant, DateTime?> due, DateTime limit, int batch)
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
    public ConsumeOutcome TryRotate(string key, StoredGrant? replacement, StoredGrant successor)
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

    public ConsumeOutcome TryConsume(string key, StoredGrant? replacement)
    {
        lock (gate)
        {
            Check(replacement is null ? Kind.Remove : Kind.Store);
            return Consume(key, replacement);
        }
    }

    private ConsumeOutcome Consume(string key, StoredGrant? replacement)
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
    private readonly JsonElement plan;
    private readonly ScenarioStore store = new();
    private readonly ManualTime time = new();
    private readonly Dictionary<string, bool> active = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ClientSettings> clients = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> names = new(StringComparer.Ordinal);
    private readonly bool answerLater;
    private RefreshTokenService? service;

    public Scenario(JsonElement plan, bool answerLater)
    {
        this.plan = plan;
        this.answerLater = answerLater;
    }

    public void Dispose() => service?.Dispose();

    private RefreshTokenService Svc => service!;

    static DateTime FromTicks(long ticks) => DateTime.UnixEpoch.AddTicks(ticks);

    static long Ticks(DateTime t) => (t - DateTime.UnixEpoch).Ticks;

    static string? Str(JsonElement v, string name) =>
        v.TryGetProperty(name, out JsonElement e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;

    static bool Has(JsonElement v, string name, out JsonElement e) =>
        v.TryGetProperty(name, out e) && e.ValueKind != JsonValueKind.Null;

    /// <summary>Applies a plan's client settings (only the fields the scenario gave, checked by the judge).</summary>
    static ClientSettings Apply(ClientSettings c, JsonElement v)
    {
        if (Has(v, "allow_offline_access", out var off)) c = c with { AllowOfflineAccess = off.GetBoolean() };
        if (Str(v, "refresh_token_usage") is { } u) c = c with { RefreshTokenUsage = u == "OneTimeOnly" ? RefreshTokenUsage.OneTimeOnly : RefreshTokenUsage.ReUse };
        if (Str(v, "refresh_token_expiration") is { } e) c = c with { RefreshTokenExpiration = e == "Sliding" ? RefreshTokenExpiration.Sliding : RefreshTokenExpiration.Absolute };
        if (Has(v, "absolute_refresh_token_lifetime", out var a)) c = c with { AbsoluteRefreshTokenLifetime = a.GetInt32() };
        if (Has(v, "sliding_refresh_token_lifetime", out var s)) c = c with { SlidingRefreshTokenLifetime = s.GetInt32() };
        if (Has(v, "access_token_lifetime", out var l)) c = c with { AccessTokenLifetime = l.GetInt32() };
        if (Has(v, "update_access_token_claims_on_refresh", out var m)) c = c with { UpdateAccessTokenClaimsOnRefresh = m.GetBoolean() };
        if (Has(v, "reuse_window_seconds", out var w)) c = c with { ReuseWindowSeconds = w.GetInt32() };
        return c;
    }

    private RefreshTokenServiceOptions Options()
    {
        // The scenario format's defaults are the reference's: no reuse window.
        var options = new RefreshTokenServiceOptions { TimeProvider = time, ReuseWindowSeconds = 0 };
        bool IsActive(string sub) => !active.TryGetValue(sub, out bool a) || a;
        if (answerLater)
        {
            options.Store = new LaterStore(store);
            options.IsActiveAsync = async (sub, _, _) =>
            {
                await Task.Yield();
                return IsActive(sub);
            };
        }
        else
        {
            options.BlockingStore = store;
            options.IsActive = (sub, _) => IsActive(sub);
        }
        JsonElement o = plan.GetProperty("options");
        if (Has(o, "delete_one_time_only_refresh_tokens_on_use", out var d)) options.DeleteOneTimeOnlyRefreshTokensOnUse = d.GetBoolean();
        if (Has(o, "accept_consumed", out var ac))
        {
            switch (Str(ac, "policy"))
            {
                case "grace":
                    options.AcceptConsumed = AcceptConsumedPolicy.Grace;
                    options.GraceSeconds = ac.GetProperty("seconds").GetInt32();
                    break;
                case "revoke_on_replay": options.AcceptConsumed = AcceptConsumedPolicy.RevokeOnReplay; break;
                case "host":
                    long within = ac.GetProperty("accept_within_seconds").GetInt64();
                    bool revoke = ac.GetProperty("revoke_on_reject").GetBoolean();
                    if (answerLater)
                    {
                        options.AcceptConsumedTokenAsync = async (ctx, ct) =>
                        {
                            await Task.Yield();
                            if (ctx.Now <= ctx.ConsumedTime.AddSeconds(within)) return true;
                            if (revoke) await ctx.Service.RemoveRefreshTokensAsync(ctx.RefreshToken.SubjectId ?? "", ctx.RefreshToken.ClientId, ct);
                            return false;
                        };
                        break;
                    }
                    options.AcceptConsumedToken = ctx =>
                    {
                        if (ctx.Now <= ctx.ConsumedTime.AddSeconds(within)) return true;
                        if (revoke) ctx.Service.RemoveRefreshTokensAsync(ctx.RefreshToken.SubjectId ?? "", ctx.RefreshToken.ClientId).GetAwaiter().GetResult();
                        return false;
                    };
                    break;
                default: options.AcceptConsumed = AcceptConsumedPolicy.Reject; break;
            }
        }
        if (Has(o, "reuse_window_seconds", out var rw)) options.ReuseWindowSeconds = rw.GetInt32();
        if (Str(o, "replay_scope") is { } rs) options.ReplayScope = rs == "subject_and_client" ? ReplayScope.SubjectAndClient : ReplayScope.Family;
        if (Has(o, "cleanup", out var cl))
        {
            if (Has(cl, "remove_consumed_tokens", out var rc)) options.RemoveConsumedTokens = rc.GetBoolean();
            if (Has(cl, "consumed_token_cleanup_delay", out var delay)) options.ConsumedTokenCleanupDelay = delay.GetInt32();
            if (Has(cl, "batch_size", out var batch)) options.TokenCleanupBatchSize = batch.GetInt32();
        }
        foreach (JsonProperty p in plan.GetProperty("clients").EnumerateObject())
        {
            clients[p.Name] = Apply(new ClientSettings { ClientId = p.Name }, p.Value);
            options.Clients.Add(clients[p.Name]);
        }
        return options;
    }

    /// <summary>Executes every step: one observation each; a step it cannot execute ends the
    /// scenario with a fault.</summary>
    public IEnumerable<JsonObject> Run()
    {
        var observed = new List<JsonObject>();
        time.Now = FromTicks(plan.GetProperty("start").GetInt64());
        try
        {
            service = new RefreshTokenService(Options());
        }
        catch (Exception e)
        {
            observed.Add(new JsonObject { ["step"] = 0, ["fault"] = e.Message });
            return observed;
        }
        int n = 0;
        foreach (JsonElement step in plan.GetProperty("steps").EnumerateArray())
        {
            n++;
            List<StoredGrant> before = store.Snapshot();
            JsonObject o;
            try
            {
                o = RunStep(step);
            }
            catch (Exception e)
            {
                observed.Add(new JsonObject { ["step"] = n, ["fault"] = $"{e.GetType().Name}: {e.Message}" });
                break;
            }
            o["step"] = n;
            o["op"] = step.GetProperty("op").GetString();
            o["changed"] = !before.SequenceEqual(store.Snapshot());
            observed.Add(o);
        }
        return observed;
    }

    private ClientSettings ClientOf(JsonElement s)
    {
        string id = Str(s, "client")!;
        if (!clients.TryGetValue(id, out ClientSettings? c)) clients[id] = c = new ClientSettings { ClientId = id };
        return c;
    }

    /// <summary>A plan's token: {"name": ...} bound by an earlier step, or {"literal": ...}.</summary>
    private string TokenOf(JsonElement s)
    {
        JsonElement v = s.GetProperty("token");
        if (Str(v, "literal") is { } lit) return lit;
        string name = Str(v, "name")!;
        return names.TryGetValue(name, out string? h) ? h : throw new Fault($"no handle for '{name}' (the step that binds it failed)");
    }

    private static JsonObject Ok() => new() { ["ok"] = true };

    private static JsonObject Refused(string error, RefusalReason reason) => new()
    {
        ["ok"] = false, ["error"] = error, ["reason"] = ReasonName(reason), ["retryable"] = false, ["message"] = reason.ToString(),
    };

    private static JsonObject Failed(RefreshTokenCoreException e) => new()
    {
        ["ok"] = false,
        ["error"] = e.Code switch
        {
            ResultCode.StorageUnavailable or ResultCode.StorageBadResponse => "storage_unavailable",
            ResultCode.CallbackFailed => "hook_failed",
            ResultCode.InvalidRequest => "invalid_request",
            ResultCode.InvalidGrant => "invalid_grant",
            _ => e.Code.ToString(),
        },
        ["reason"] = null,
        ["retryable"] = e.IsRetryable,
        ["message"] = e.Message,
    };

    private static string? ReasonName(RefusalReason r) => r == RefusalReason.None ? null : Reasons.Name(r);

    /// <summary>A successful token operation: the token record as the Data column's JSON and,
    /// when one was issued, the handle.</summary>
    private static JsonObject TokenObs(RefreshTokenRecord token, string? handle)
    {
        var o = new JsonObject { ["result"] = Ok(), ["token"] = JsonNode.Parse(Json.Write(token)) };
        if (handle is not null) o["handle"] = handle;
        return o;
    }

    private static JsonObject RowJson(StoredGrant r) => new()
    {
        ["Key"] = r.Key, ["Type"] = r.Type, ["SubjectId"] = r.SubjectId, ["SessionId"] = r.SessionId,
        ["ClientId"] = r.ClientId, ["Description"] = r.Description, ["CreationTime"] = Ticks(r.CreationTime),
        ["Expiration"] = r.Expiration is { } e ? Ticks(e) : null, ["ConsumedTime"] = r.ConsumedTime is { } c ? Ticks(c) : null,
        ["Data"] = r.Data,
    };

    private CreateRefreshTokenRequest CreateRequest(JsonElement s, ClientSettings client)
    {
        string sub = Str(s, "subject")!;
        string? sid = Str(s, "session_id");
        List<string> scopes = s.GetProperty("scopes").EnumerateArray().Select(x => x.GetString()!).ToList();
        var extra = s.GetProperty("claims").EnumerateArray().Select(c => new Claim(Str(c, "type")!, Str(c, "value")!)).ToList();
        var at = new AccessTokenRecord { Claims = new List<Claim> { new("client_id", client.ClientId) } };
        at.Claims.AddRange(scopes.Select(x => new Claim("scope", x)));
        at.Claims.Add(new Claim("sub", sub));
        if (sid is not null) at.Claims.Add(new Claim("sid", sid));
        at.Claims.AddRange(extra);
        var principal = new ClaimsPrincipal(new ClaimsIdentity(new[] { new Claim("sub", sub) }.Concat(extra), "Duende.IdentityServer"));
        return new CreateRefreshTokenRequest
        {
            Client = client,
            Subject = principal,
            AccessToken = at,
            SessionId = sid,
            Description = Str(s, "description"),
            AuthorizedScopes = scopes,
        };
    }

    /// <summary>Runs one step; its observation (without step, op and changed).</summary>
    private JsonObject RunStep(JsonElement s)
    {
        string op = Str(s, "op")!;
        try
        {
            return Execute(op, s);
        }
        catch (RefreshTokenCoreException ex) when (op is "create" or "validate" or "refresh" or "revoke" or "cleanup")
        {
            return new JsonObject { ["result"] = Failed(ex) };
        }
    }

    private JsonObject Execute(string op, JsonElement s)
    {
        switch (op)
        {
            case "create":
            {
                var (handle, token) = Svc.CreateAsync(CreateRequest(s, ClientOf(s))).GetAwaiter().GetResult();
                names[Str(s, "as")!] = handle;
                return TokenObs(token, handle);
            }
            case "validate":
            {
                RefreshTokenValidationResult v = Svc.ValidateRefreshTokenAsync(TokenOf(s), ClientOf(s)).GetAwaiter().GetResult();
                return v.IsError ? new JsonObject { ["result"] = Refused(v.Error!, v.Reason) } : TokenObs(v.RefreshToken!, null);
            }
            case "refresh":
            {
                string presented = TokenOf(s);
                RefreshResult r = Svc.RefreshAsync(ClientOf(s), presented).GetAwaiter().GetResult();
                if (r.IsError) return new JsonObject { ["result"] = Refused(r.Error!, r.Reason) };
                if (r.Rotated != (r.Handle != presented)) throw new Fault("Rotated disagrees with the handle");
                if (Str(s, "as") is { } name) names[name] = r.Handle!;
                return TokenObs(r.RefreshToken!, r.Handle);
            }
            case "revoke":
            {
                RevocationResult r = Svc.RevokeAsync(TokenOf(s), ClientOf(s)).GetAwaiter().GetResult();
                return new JsonObject { ["result"] = r.IsError ? Refused(r.Error!, r.Reason) : Ok() };
            }
            case "cleanup":
            {
                CleanupResult r = Svc.CleanupAsync().GetAwaiter().GetResult();
                return new JsonObject { ["result"] = Ok(), ["removed"] = r.ExpiredRemoved + r.ConsumedRemoved };
            }
            case "advance":
                time.Now = time.Now.AddTicks(s.GetProperty("ticks").GetInt64());
                return new JsonObject();
            case "inspect":
                return new JsonObject { ["row"] = store.Peek(RefreshTokenService.GetPersistedGrantKey(TokenOf(s))) is { } row ? RowJson(row) : null };
            case "count":
            {
                JsonElement f = s.GetProperty("filter");
                var filter = new StoredGrantFilter { SubjectId = Str(f, "subject"), ClientId = Str(f, "client"), SessionId = Str(f, "session_id"), Type = Str(f, "type") };
                return new JsonObject { ["rows"] = store.Snapshot().Count(filter.Matches) };
            }
            case "set_client":
            {
                ClientSettings c = ClientOf(s);
                clients[c.ClientId] = Apply(c, s.GetProperty("settings"));
                return new JsonObject();
            }
            case "set_active":
                active[Str(s, "subject")!] = s.GetProperty("active").GetBoolean();
                return new JsonObject();
            case "fail_store":
            {
                ScenarioStore.Kind kind = Str(s, "operation") switch
                {
                    "get" => ScenarioStore.Kind.Get,
                    "store" => ScenarioStore.Kind.Store,
                    "remove" => ScenarioStore.Kind.Remove,
                    _ => ScenarioStore.Kind.Any,
                };
                store.Fail(kind, s.GetProperty("times").GetInt64());
                return new JsonObject();
            }
            case "import":
            {
                JsonElement r = s.GetProperty("row");
                DateTime? At(string name) => Has(r, name, out var t) ? FromTicks(t.GetInt64()) : null;
                store.Put(new StoredGrant
                {
                    Key = Str(r, "Key")!,
                    Type = Str(r, "Type")!,
                    SubjectId = Str(r, "SubjectId"),
                    SessionId = Str(r, "SessionId"),
                    ClientId = Str(r, "ClientId")!,
                    Description = Str(r, "Description"),
                    CreationTime = At("CreationTime")!.Value,
                    Expiration = At("Expiration"),
                    ConsumedTime = At("ConsumedTime"),
                    Data = Str(r, "Data")!,
                });
                return new JsonObject();
            }
            case "key":
                return new JsonObject { ["key"] = RefreshTokenService.GetPersistedGrantKey(TokenOf(s)) };
            default:
                throw new Fault($"unknown op '{op}'");
        }
    }
}
