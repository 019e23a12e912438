using System;
using System.IO;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Xunit;

namespace RefreshTokenCore.Tests;

/// <summary>The hosted cleanup in a real generic host, and the service's interface in the container.</summary>
public class CleanupHostTests
{
    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now = DateTimeOffset.UtcNow;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private sealed class Collecting : ILoggerProvider
    {
        public readonly ListLogger Logger = new();
        public ILogger CreateLogger(string categoryName) => Logger;
        public void Dispose() { }
    }

    private static IHost Host(IBlockingGrantStore store, ManualTime clock, TimeSpan interval, Collecting? logs = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        if (logs is not null) builder.Logging.AddProvider(logs);
        builder.Services.AddRefreshTokenCore(o =>
        {
            o.BlockingStore = store;
            o.TimeProvider = clock;
        });
        builder.Services.AddRefreshTokenCoreCleanup(o => o.Interval = interval);
        return builder.Build();
    }

    private static async Task Until(Func<bool> done, string what)
    {
        for (int i = 0; i < 400 && !done(); i++) await Task.Delay(25);
        Assert.True(done(), what);
    }

    [Fact]
    public async Task The_host_removes_expired_tokens_on_its_interval()
    {
        var store = new InMemoryGrantStore();
        var clock = new ManualTime();
        using var host = Host(store, clock, TimeSpan.FromMilliseconds(50));
        var service = host.Services.GetRequiredService<IRefreshTokenCoreService>();
        Assert.Same(host.Services.GetRequiredService<RefreshTokenService>(), service);
        var client = TestSupport.Spa(RefreshTokenUsage.ReUse);
        for (int i = 0; i < 3; i++) await service.CreateRefreshTokenAsync(TestSupport.Request(client, $"user{i}"));
        Assert.Equal(3, store.Tokens().Count);

        await host.StartAsync();
        var cleanup = host.Services.GetRequiredService<RefreshTokenCoreCleanupHost>();
        await Until(() => cleanup.Passes >= 2, "the host runs passes");
        Assert.Equal(3, store.Tokens().Count); // nothing has expired yet
        clock.Now = clock.Now.AddDays(31);      // past the 30-day absolute lifetime
        await Until(() => store.Tokens().Count == 0, "the expired tokens are removed");
        await host.StopAsync();
    }

    [Fact]
    public async Task A_failing_store_is_logged_and_the_next_pass_still_runs()
    {
        var store = new FlakyStore();
        var logs = new Collecting();
        using var host = Host(store, new ManualTime(), TimeSpan.FromMilliseconds(30), logs);
        // Built first (the service reads its successor secret from the store when it is built).
        host.Services.GetRequiredService<IRefreshTokenCoreService>();
        store.OnEveryCall = () => throw new IOException("the database is restarting");
        await host.StartAsync();
        var cleanup = host.Services.GetRequiredService<RefreshTokenCoreCleanupHost>();
        await Until(() => cleanup.Passes >= 3, "passes go on after failures");
        lock (logs.Logger.Lines) Assert.Contains(logs.Logger.Lines, l => l.StartsWith("Warning Token cleanup pass failed", StringComparison.Ordinal));
        store.OnEveryCall = null;
        long failed = cleanup.Passes;
        await Until(() => cleanup.Passes >= failed + 2, "passes succeed again");
        await host.StopAsync();
    }

    [Fact]
    public async Task A_zero_interval_fails_the_start_naming_the_option()
    {
        using var host = Host(new InMemoryGrantStore(), new ManualTime(), TimeSpan.Zero);
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Interval", e.Message);
    }
}
