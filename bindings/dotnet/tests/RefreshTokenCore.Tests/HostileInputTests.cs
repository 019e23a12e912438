using System;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Xunit;

namespace RefreshTokenCore.Tests;

/// <summary>What a hostile client or a careless host sends: a typed answer, never a process abort,
/// and a client's value never an exception (issue 15, items 2 and 9).</summary>
public class HostileInputTests
{
    [Fact]
    public async Task A_presented_token_of_any_length_is_a_refusal_never_an_exception()
    {
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions());
        ClientSettings spa = TestSupport.Spa();
        string live = await service.CreateAsync(spa);
        // Over the 100-character limit, over the library's 64 KiB argument limit, a lone surrogate.
        foreach (string token in new[] { new string('a', 101), new string('a', 70_000), "\ud800abc", "" })
        {
            RefreshResult r = await service.RefreshAsync(spa, token);
            Assert.True(r.IsError, $"{token.Length} characters");
            RefreshTokenValidationResult v = await service.ValidateRefreshTokenAsync(token, spa);
            Assert.True(v.IsError);
            Assert.False(await service.RevokeRefreshTokenAsync(token, spa));
        }
        Assert.Equal("invalid_grant", (await service.RefreshAsync(spa, new string('a', 70_000))).Error);
        RevocationResult empty = await service.RevokeAsync("", spa);
        Assert.True(empty.IsError);
        Assert.Equal("invalid_request", empty.Error);
        Assert.False((await service.RefreshAsync(spa, live)).IsError, "the service keeps serving");
    }

    [Fact]
    public void Out_of_range_options_are_argument_errors_at_configuration()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RefreshTokenService(new RefreshTokenServiceOptions { GraceSeconds = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RefreshTokenService(new RefreshTokenServiceOptions { ReuseWindowSeconds = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RefreshTokenService(new RefreshTokenServiceOptions { TokenCleanupBatchSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RefreshTokenService(new RefreshTokenServiceOptions { ConsumedTokenCleanupDelay = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RefreshTokenService(new RefreshTokenServiceOptions { MaxRefreshTokenLength = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RefreshTokenService(new RefreshTokenServiceOptions { AcceptConsumed = (AcceptConsumedPolicy)42 }));
    }

    /// <summary>The stored row rewritten to be created at the last tick .NET can hold: its
    /// successor would expire in year 10000, a date no store callback can be given.</summary>
    private static StoredGrant CreatedAtTheEndOfTime(StoredGrant row)
    {
        JsonNode envelope = JsonNode.Parse(row.Data)!;
        JsonNode payload = JsonNode.Parse(envelope["Payload"]!.GetValue<string>())!;
        payload["CreationTime"] = "9999-12-31T23:59:59.9999999Z";
        envelope["Payload"] = payload.ToJsonString();
        return row with { CreationTime = DateTime.MaxValue, Data = envelope.ToJsonString() };
    }

    [Fact]
    public async Task A_row_whose_successor_leaves_DateTimes_range_is_refused_on_both_store_bridges_and_changes_nothing()
    {
        var blocking = new InMemoryGrantStore();
        var awaiting = new DelayedStore { Delay = TimeSpan.Zero };
        foreach ((RefreshTokenServiceOptions options, InMemoryGrantStore rows) in new[]
        {
            (new RefreshTokenServiceOptions { BlockingStore = blocking }, blocking),
            (new RefreshTokenServiceOptions { Store = awaiting }, awaiting.Inner),
        })
        {
            using var service = new RefreshTokenService(options);
            ClientSettings spa = TestSupport.Spa();
            string handle = await service.CreateAsync(spa);
            StoredGrant row = rows.Get(RefreshTokenService.GetPersistedGrantKey(handle))!;
            rows.Store(CreatedAtTheEndOfTime(row));
            string before = JsonSerializer.Serialize(rows.Snapshot());

            // Before: DateTime.AddTicks threw inside the store bridge and the process aborted
            // (134). The library now refuses the token before writing a date past year 9999; the
            // bridges convert inside their guards either way.
            RefreshResult r = await service.RefreshAsync(spa, handle);
            Assert.True(r.IsError, "a successor that expires in year 10000 cannot be issued");
            Assert.Equal(RefusalReason.Malformed, r.Reason);
            Assert.Equal(before, JsonSerializer.Serialize(rows.Snapshot()));
            Assert.False((await service.RefreshAsync(spa, await service.CreateAsync(spa))).IsError, "the service keeps serving");
        }
    }
}
