using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Duende.IdentityModel.Client;
using Microsoft.Data.Sqlite;
using Xunit;

namespace RealHostTests;

/// <summary>
/// Every case runs against stock Duende and against the swap-in, each on a fresh deployment;
/// the answers must be the same. Each row also goes to target/real-host-results.md.
/// </summary>
public class SwapInAgreesWithStockTests
{
    private delegate Task Script(IdentityServerHost host, List<string> answers);

    private static async Task Agree(string name, bool deleteOnUse, Script script, IdentityServerHost.Sessions sessions = IdentityServerHost.Sessions.None)
    {
        var answers = new Dictionary<bool, List<string>>();
        foreach (bool swapIn in new[] { false, true })
        {
            using var deployment = new Deployment();
            await using IdentityServerHost host = await IdentityServerHost.StartAsync(deployment, swapIn, deleteOnUse, sessions);
            var list = new List<string>();
            await script(host, list);
            answers[swapIn] = list;
        }
        string stock = string.Join(", ", answers[false]), swapped = string.Join(", ", answers[true]);
        Results.Add(deleteOnUse ? "delete" : "mark", name, stock, swapped);
        Assert.Equal(stock, swapped);
    }

    public static TheoryData<bool> Modes => new() { true, false };

    [Theory]
    [MemberData(nameof(Modes))]
    public Task An_absolute_lifetime_ends_the_token(bool deleteOnUse) => Agree("Absolute lifetime 100 s: refresh at +50 s, at +101 s", deleteOnUse, async (h, a) =>
    {
        TokenResponse first = await h.PasswordAsync("absolute", "alice");
        h.Clock.Advance(TimeSpan.FromSeconds(50));
        a.Add(Answer.Of(await h.RefreshAsync("absolute", first.RefreshToken!)));
        h.Clock.Advance(TimeSpan.FromSeconds(51));
        a.Add(Answer.Of(await h.RefreshAsync("absolute", first.RefreshToken!)));
    });

    [Theory]
    [MemberData(nameof(Modes))]
    public Task A_sliding_lifetime_slides_up_to_the_absolute_cap(bool deleteOnUse) => Agree("Sliding 100 s, absolute cap 300 s: refresh at +60, +150, +240 (the window slides each time), +310 (past the cap)", deleteOnUse, async (h, a) =>
    {
        TokenResponse t = await h.PasswordAsync("sliding", "alice");
        foreach (int seconds in new[] { 60, 90, 90, 70 })
        {
            h.Clock.Advance(TimeSpan.FromSeconds(seconds));
            TokenResponse r = await h.RefreshAsync("sliding", t.RefreshToken!);
            a.Add(Answer.Of(r));
            if (!r.IsError) t = r;
        }
    });

    [Theory]
    [MemberData(nameof(Modes))]
    public Task Claims_are_updated_on_refresh_when_the_client_asks(bool deleteOnUse) => Agree("UpdateAccessTokenClaimsOnRefresh: the user's name changes between refreshes", deleteOnUse, async (h, a) =>
    {
        TokenResponse first = await h.PasswordAsync("claims", "alice");
        TestUserName(h, "Alicia");
        TokenResponse updated = await h.RefreshAsync("claims", first.RefreshToken!);
        a.Add(Answer.Of(updated) + " name=" + NameIn(updated.AccessToken));
        TokenResponse keptByOther = await h.PasswordAsync("reuse", "alice");
        TestUserName(h, "Ally");
        TokenResponse kept = await h.RefreshAsync("reuse", keptByOther.RefreshToken!);
        a.Add(Answer.Of(kept) + " name=" + NameIn(kept.AccessToken));
    });

    [Theory]
    [MemberData(nameof(Modes))]
    public Task Introspection_of_a_refresh_token_by_its_client(bool deleteOnUse) => Agree("RFC 7662 introspection: live, by another client, after revocation", deleteOnUse, async (h, a) =>
    {
        TokenResponse first = await h.PasswordAsync("reuse", "alice");
        a.Add(Introspected(await h.IntrospectAsync("reuse", first.RefreshToken!)));
        a.Add(Introspected(await h.IntrospectAsync("other", first.RefreshToken!)));
        await h.RevokeAsync("reuse", first.RefreshToken!);
        a.Add(Introspected(await h.IntrospectAsync("reuse", first.RefreshToken!)));
    });

    [Theory]
    [MemberData(nameof(Modes))]
    public Task Duendes_token_cleanup_removes_expired_rows_the_service_wrote(bool deleteOnUse) => Agree("Duende's TokenCleanupService: a 1 s token, rows before and after a cleanup pass", deleteOnUse, async (h, a) =>
    {
        TokenResponse first = await h.PasswordAsync("short", "bob");
        a.Add($"rows {h.RefreshTokenRows("2")}");
        // Duende's cleanup judges expiry by the system clock, not the deployment's.
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        await h.CleanupAsync();
        a.Add($"rows after cleanup {h.RefreshTokenRows("2")}");
        a.Add(Answer.Of(await h.RefreshAsync("short", first.RefreshToken!)));
    });

    [Theory]
    [MemberData(nameof(Modes))]
    public Task The_code_flow_with_PKCE_keeps_the_session_id_across_refreshes(bool deleteOnUse) => Agree("authorization code + PKCE: exchange, refresh, refresh again; the sid of the login in every access token", deleteOnUse, async (h, a) =>
    {
        TokenResponse code = await h.CodeWithPkceAsync();
        string sid = ClaimIn(code.AccessToken, "sid");
        a.Add(Answer.Of(code) + (sid == "-" ? " no sid" : " sid"));
        TokenResponse first = await h.RefreshAsync("code", code.RefreshToken!);
        a.Add(Answer.Of(first) + (ClaimIn(first.AccessToken, "sid") == sid ? " same sid" : " sid changed"));
        TokenResponse second = await h.RefreshAsync("code", first.RefreshToken!);
        a.Add(Answer.Of(second) + (ClaimIn(second.AccessToken, "sid") == sid ? " same sid" : " sid changed"));
        a.Add(first.RefreshToken == code.RefreshToken ? "rt kept" : "rt rotated");
    });

    public static TheoryData<IdentityServerHost.Sessions> SessionOrders => new() { IdentityServerHost.Sessions.BeforeSwapIn, IdentityServerHost.Sessions.AfterSwapIn };

    [Theory]
    [MemberData(nameof(SessionOrders))]
    public Task Server_side_sessions_keep_deciding_refreshes(IdentityServerHost.Sessions order) => Agree($"server-side sessions ({(order == IdentityServerHost.Sessions.BeforeSwapIn ? "added before" : "added after")} the swap-in): code + PKCE, refresh, end the session, refresh", true, async (h, a) =>
    {
        TokenResponse code = await h.CodeWithPkceAsync();
        a.Add(Answer.Of(code));
        TokenResponse live = await h.RefreshAsync("code", code.RefreshToken!);
        a.Add(Answer.Of(live));
        await h.EndSessionsAsync("1");
        a.Add(Answer.Of(await h.RefreshAsync("code", live.RefreshToken!)));
    }, order);

    private static void TestUserName(IdentityServerHost h, string name)
    {
        var user = h.Users.Single(u => u.Username == "alice");
        user.Claims.Remove(user.Claims.Single(c => c.Type == "name"));
        user.Claims.Add(new System.Security.Claims.Claim("name", name));
    }

    /// <summary>The name claim inside a JWT access token.</summary>
    private static string NameIn(string? jwt) => ClaimIn(jwt, "name");

    /// <summary>A claim inside a JWT access token (its payload, base64url JSON), "-" when absent.</summary>
    private static string ClaimIn(string? jwt, string claim)
    {
        if (jwt is null) return "-";
        string payload = jwt.Split('.')[1].Replace('-', '+').Replace('_', '/');
        payload = payload.PadRight(payload.Length + (4 - payload.Length % 4) % 4, '=');
        using var doc = System.Text.Json.JsonDocument.Parse(Convert.FromBase64String(payload));
        return doc.RootElement.TryGetProperty(claim, out var n) ? n.GetString() ?? "-" : "-";
    }

    private static string Introspected(TokenIntrospectionResponse r) => r.IsError
        ? $"{(int)r.HttpStatusCode} {r.Error}"
        : r.IsActive
            ? $"active sub={r.Claims.FirstOrDefault(c => c.Type == "sub")?.Value} lifetime={long.Parse(r.Claims.First(c => c.Type == "exp").Value) - long.Parse(r.Claims.First(c => c.Type == "iat").Value)}"
            : "inactive";

    [Theory]
    [MemberData(nameof(Modes))]
    public Task ReUse_refresh_keeps_the_handle(bool deleteOnUse) => Agree("ReUse: refresh twice, same handle", deleteOnUse, async (h, a) =>
    {
        TokenResponse first = await h.PasswordAsync("reuse", "alice");
        a.Add(Answer.Of(first));
        TokenResponse r1 = await h.RefreshAsync("reuse", first.RefreshToken!);
        a.Add(Answer.Of(r1) + (r1.RefreshToken == first.RefreshToken ? " same" : " new"));
        TokenResponse r2 = await h.RefreshAsync("reuse", first.RefreshToken!);
        a.Add(Answer.Of(r2) + (r2.RefreshToken == first.RefreshToken ? " same" : " new"));
    });

    [Theory]
    [MemberData(nameof(Modes))]
    public Task OneTimeOnly_rotates_and_a_replay_after_the_chain_moved_on_is_refused(bool deleteOnUse) => Agree("OneTimeOnly: rotate, rotate again, replay the first", deleteOnUse, async (h, a) =>
    {
        TokenResponse first = await h.PasswordAsync("onetime", "alice");
        TokenResponse next = await h.RefreshAsync("onetime", first.RefreshToken!);
        a.Add(Answer.Of(next) + (next.RefreshToken != first.RefreshToken ? " new" : " same"));
        TokenResponse third = await h.RefreshAsync("onetime", next.RefreshToken!);
        a.Add(Answer.Of(third));
        a.Add(Answer.Of(await h.RefreshAsync("onetime", first.RefreshToken!)));
        a.Add(Answer.Of(await h.RefreshAsync("onetime", third.RefreshToken!)));
        // Mark mode keeps every used row (DeleteOneTimeOnlyRefreshTokensOnUse = false honoured).
        a.Add($"live {h.LiveRefreshTokens("1")}, rows {h.RefreshTokenRows("1")}");
    });

    [Theory]
    [MemberData(nameof(Modes))]
    public Task Another_clients_token_is_refused(bool deleteOnUse) => Agree("client mismatch", deleteOnUse, async (h, a) =>
    {
        TokenResponse first = await h.PasswordAsync("reuse", "alice");
        a.Add(Answer.Of(await h.RefreshAsync("other", first.RefreshToken!)));
        a.Add(Answer.Of(await h.RefreshAsync("reuse", first.RefreshToken!)));
    });

    [Theory]
    [MemberData(nameof(Modes))]
    public Task Offline_access_withdrawn_is_refused(bool deleteOnUse) => Agree("AllowOfflineAccess withdrawn", deleteOnUse, async (h, a) =>
    {
        TokenResponse first = await h.PasswordAsync("onetime", "alice");
        h.Clients.Single(c => c.ClientId == "onetime").AllowOfflineAccess = false;
        a.Add(Answer.Of(await h.RefreshAsync("onetime", first.RefreshToken!)));
        h.Clients.Single(c => c.ClientId == "onetime").AllowOfflineAccess = true;
        a.Add(Answer.Of(await h.RefreshAsync("onetime", first.RefreshToken!)));
    });

    [Theory]
    [MemberData(nameof(Modes))]
    public Task An_inactive_user_is_refused_by_the_profile_service(bool deleteOnUse) => Agree("IsActive false (profile service)", deleteOnUse, async (h, a) =>
    {
        TokenResponse first = await h.PasswordAsync("onetime", "alice");
        h.Users.Single(u => u.Username == "alice").IsActive = false;
        a.Add(Answer.Of(await h.RefreshAsync("onetime", first.RefreshToken!)));
        h.Users.Single(u => u.Username == "alice").IsActive = true;
        a.Add(Answer.Of(await h.RefreshAsync("onetime", first.RefreshToken!)));
    });

    [Theory]
    [MemberData(nameof(Modes))]
    public Task A_revoked_token_is_refused(bool deleteOnUse) => Agree("RFC 7009 revocation", deleteOnUse, async (h, a) =>
    {
        TokenResponse first = await h.PasswordAsync("reuse", "bob");
        TokenRevocationResponse other = await h.RevokeAsync("other", first.RefreshToken!);
        a.Add($"revoke by other {(int)other.HttpStatusCode}");
        a.Add(Answer.Of(await h.RefreshAsync("reuse", first.RefreshToken!)));
        TokenRevocationResponse own = await h.RevokeAsync("reuse", first.RefreshToken!);
        a.Add($"revoke {(int)own.HttpStatusCode}");
        a.Add(Answer.Of(await h.RefreshAsync("reuse", first.RefreshToken!)));
    });

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Swap_in_and_roll_back_on_one_database_keep_every_live_token(bool deleteOnUse)
    {
        using var deployment = new Deployment();
        string reuse, onetime;
        await using (IdentityServerHost stock = await IdentityServerHost.StartAsync(deployment, swapIn: false, deleteOnUse))
        {
            reuse = (await stock.PasswordAsync("reuse", "alice")).RefreshToken!;
            onetime = (await stock.PasswordAsync("onetime", "bob")).RefreshToken!;
        }
        string afterSwap;
        await using (IdentityServerHost swapped = await IdentityServerHost.StartAsync(deployment, swapIn: true, deleteOnUse))
        {
            TokenResponse r = await swapped.RefreshAsync("reuse", reuse);
            TokenResponse o = await swapped.RefreshAsync("onetime", onetime);
            Results.Add(deleteOnUse ? "delete" : "mark", "swap in: tokens Duende issued (Data-Protected) refresh", "-", $"{Answer.Of(r)}, {Answer.Of(o)}");
            Assert.False(r.IsError, r.Error);
            Assert.False(o.IsError, o.Error);
            onetime = o.RefreshToken!;
            afterSwap = (await swapped.PasswordAsync("onetime", "alice")).RefreshToken!;
        }
        await using (IdentityServerHost rolledBack = await IdentityServerHost.StartAsync(deployment, swapIn: false, deleteOnUse))
        {
            TokenResponse r = await rolledBack.RefreshAsync("reuse", reuse);
            TokenResponse o = await rolledBack.RefreshAsync("onetime", onetime);
            TokenResponse n = await rolledBack.RefreshAsync("onetime", afterSwap);
            Results.Add(deleteOnUse ? "delete" : "mark", "roll back: tokens the swap-in issued or rotated refresh under stock", $"{Answer.Of(r)}, {Answer.Of(o)}, {Answer.Of(n)}", "-");
            Assert.False(r.IsError, r.Error);
            Assert.False(o.IsError, o.Error);
            Assert.False(n.IsError, n.Error);
        }
    }
}

/// <summary>What the swap-in is for: one successor under a race and for a retry, and 503 rather
/// than 500 on an outage.</summary>
public class SwapInDiffersFromStockTests
{
    private static async Task<string> RetryAfterALostResponse(bool swapIn, bool deleteOnUse)
    {
        using var deployment = new Deployment();
        await using IdentityServerHost host = await IdentityServerHost.StartAsync(deployment, swapIn, deleteOnUse);
        TokenResponse first = await host.PasswordAsync("onetime", "alice");
        TokenResponse next = await host.RefreshAsync("onetime", first.RefreshToken!);
        // The client never saw `next` (a lost response) and retries with the token it has.
        TokenResponse retry = await host.RefreshAsync("onetime", first.RefreshToken!);
        string same = retry.IsError ? "" : retry.RefreshToken == next.RefreshToken ? " same successor" : " another token";
        int live = host.LiveRefreshTokens("1");
        if (swapIn)
        {
            Assert.False(retry.IsError, retry.Error);
            Assert.Equal(next.RefreshToken, retry.RefreshToken);
            Assert.Equal(1, live);
        }
        return $"{Answer.Of(retry)}{same}, live {live}";
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_retry_after_a_lost_response_gets_the_same_successor(bool deleteOnUse)
    {
        string stock = await RetryAfterALostResponse(swapIn: false, deleteOnUse);
        string swapped = await RetryAfterALostResponse(swapIn: true, deleteOnUse);
        Results.Add(deleteOnUse ? "delete" : "mark", "retry with the used token (lost response), inside the reuse window", stock, swapped);
    }

    private static async Task<(int Ok, int BadRequest, int ServerError, int Forks, int Distinct)> Race(bool swapIn, int rounds, int parallel)
    {
        using var deployment = new Deployment();
        await using IdentityServerHost host = await IdentityServerHost.StartAsync(deployment, swapIn, deleteOnUse: true);
        int ok = 0, bad = 0, error = 0, forks = 0, distinct = 0;
        for (int round = 0; round < rounds; round++)
        {
            string subject = round % 2 == 0 ? "alice" : "bob";
            string id = subject == "alice" ? "1" : "2";
            // One user per round: revoke what the last round left, then a fresh token.
            TokenResponse first = await host.PasswordAsync("onetime", subject);
            using var start = new Barrier(parallel);
            TokenResponse[] answers = await Task.WhenAll(Enumerable.Range(0, parallel).Select(_ => Task.Run(async () =>
            {
                start.SignalAndWait();
                return await host.RefreshAsync("onetime", first.RefreshToken!);
            })));
            ok += answers.Count(a => !a.IsError);
            bad += answers.Count(a => a.HttpStatusCode == HttpStatusCode.BadRequest);
            error += answers.Count(a => (int)a.HttpStatusCode >= 500);
            // The distinct refresh tokens handed out; a chain forked when more than one of them
            // refreshes (each is tried once, so a token given to several callers counts once).
            List<string> handed = answers.Where(a => !a.IsError).Select(a => a.RefreshToken!).Distinct().ToList();
            distinct += handed.Count;
            int live = 0;
            foreach (string t in handed)
            {
                if (!(await host.RefreshAsync("onetime", t)).IsError) live++;
            }
            if (live > 1) forks++;
            if (swapIn)
            {
                // Every caller is answered with the token's one successor.
                Assert.Equal(parallel, answers.Count(a => !a.IsError));
                Assert.Single(handed);
                Assert.Equal(1, live);
            }
            _ = id;
        }
        return (ok, bad, error, forks, distinct);
    }

    [Fact]
    public async Task Sixteen_parallel_refreshes_of_one_token_20_rounds_over_Kestrel()
    {
        var stock = await Race(swapIn: false, rounds: 20, parallel: 16);
        var swapped = await Race(swapIn: true, rounds: 20, parallel: 16);
        Results.Add("delete", "16 parallel refreshes x 20 rounds (200 / 400 / 5xx / distinct tokens handed out / rounds forked)",
            $"{stock.Ok} / {stock.BadRequest} / {stock.ServerError} / {stock.Distinct} / {stock.Forks}",
            $"{swapped.Ok} / {swapped.BadRequest} / {swapped.ServerError} / {swapped.Distinct} / {swapped.Forks}");
        Assert.Equal(320, swapped.Ok);
        Assert.Equal(0, swapped.ServerError);
        Assert.Equal(20, swapped.Distinct);
        Assert.Equal(0, swapped.Forks);
    }

    private static async Task<string> Outage(bool swapIn)
    {
        using var deployment = new Deployment();
        await using IdentityServerHost host = await IdentityServerHost.StartAsync(deployment, swapIn, deleteOnUse: true);
        string token = (await host.PasswordAsync("onetime", "alice")).RefreshToken!;
        TokenResponse during;
        // The outage: another connection holds an exclusive lock, so every statement times out.
        using (var locker = new SqliteConnection($"Data Source={deployment.Database};Pooling=False"))
        {
            locker.Open();
            using (var cmd = locker.CreateCommand())
            {
                cmd.CommandText = "BEGIN EXCLUSIVE;";
                cmd.ExecuteNonQuery();
            }
            during = await host.RefreshAsync("onetime", token);
            using var rollback = locker.CreateCommand();
            rollback.CommandText = "ROLLBACK;";
            rollback.ExecuteNonQuery();
        }
        TokenResponse after = await host.RefreshAsync("onetime", token);
        string retryAfter = during.HttpResponse?.Headers.RetryAfter is null ? "" : " Retry-After";
        // IdentityModel reports a non-400 status by its reason phrase; the OAuth error is in the body.
        string error = during.TryGet("error") ?? during.Error ?? "";
        if (swapIn)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, during.HttpStatusCode);
            Assert.Equal("temporarily_unavailable", error);
            Assert.False(after.IsError, after.Error);
        }
        return $"{(int)during.HttpStatusCode} {error}{retryAfter}; after: {Answer.Of(after)}";
    }

    [Fact]
    public async Task A_storage_outage_answers_503_and_the_token_works_after_it()
    {
        string stock = await Outage(swapIn: false);
        string swapped = await Outage(swapIn: true);
        Results.Add("delete", "storage outage (database locked), then the same token", stock, swapped);
    }
}
