using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading.Tasks;
using Duende.IdentityModel.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using TokenEndpointSample;
using Xunit;

namespace TokenEndpointSample.Tests;

/// <summary>
/// The sample as it ships: its appsettings.json (copied beside the test by the sample's build),
/// Kestrel on a loopback port, the Duende.IdentityModel client sending Basic auth. Only the
/// database file and the port are the test's.
/// </summary>
public sealed class SampleAppTests : IAsyncLifetime
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), $"rtc-sample-{Guid.NewGuid():N}");
    private readonly List<Metric> metrics = new();
    private readonly List<Activity> spans = new();
    private readonly List<string> logs = new();
    private WebApplication app = default!;
    private HttpClient http = default!;
    private string address = "";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(dir);
        app = SampleApp.Build(
            new[] { "--contentRoot", AppContext.BaseDirectory, "--urls", "http://127.0.0.1:0", $"--RefreshTokenCore:SqlitePath={Path.Combine(dir, "tokens.db")}" },
            b =>
            {
                b.Services.ConfigureOpenTelemetryMeterProvider(m => m.AddInMemoryExporter(metrics));
                b.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans));
                b.Logging.AddProvider(new ListLoggerProvider(logs));
            });
        await app.StartAsync();
        address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        http = new HttpClient();
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        await app.DisposeAsync();
        Directory.Delete(dir, recursive: true);
    }

    private Task<TokenResponse> SignIn(string client, string secret) => http.RequestPasswordTokenAsync(new PasswordTokenRequest
    {
        Address = address + "/connect/token",
        ClientId = client,
        ClientSecret = secret,
        UserName = "alice",
        Password = "alice",
        Scope = "openid api offline_access",
    });

    private Task<TokenResponse> Refresh(string client, string secret, string refreshToken) => http.RequestRefreshTokenAsync(new RefreshTokenRequest
    {
        Address = address + "/connect/token",
        ClientId = client,
        ClientSecret = secret,
        RefreshToken = refreshToken,
    });

    [Fact]
    public async Task The_sample_rotates_refuses_reports_health_and_shows_metrics_and_spans_without_a_handle()
    {
        // Configuration from appsettings.json: mobile is OneTimeOnly, web ReUse.
        TokenResponse first = await SignIn("mobile", "mobile-secret");
        Assert.False(first.IsError, first.Error);
        Assert.NotNull(first.RefreshToken);
        TokenResponse second = await Refresh("mobile", "mobile-secret", first.RefreshToken!);
        Assert.False(second.IsError, second.Error);
        Assert.NotEqual(first.RefreshToken, second.RefreshToken);
        // A lost response's retry inside the reuse window: the same successor.
        TokenResponse retry = await Refresh("mobile", "mobile-secret", first.RefreshToken!);
        Assert.Equal(second.RefreshToken, retry.RefreshToken);
        TokenResponse web = await SignIn("web", "web-secret");
        Assert.Equal(web.RefreshToken, (await Refresh("web", "web-secret", web.RefreshToken!)).RefreshToken);
        // Refusals are RFC 6749 answers.
        TokenResponse garbage = await Refresh("mobile", "mobile-secret", "not-a-token");
        Assert.Equal(HttpStatusCode.BadRequest, garbage.HttpStatusCode);
        Assert.Equal("invalid_grant", garbage.Error);
        TokenResponse wrongSecret = await Refresh("mobile", "nope", second.RefreshToken!);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongSecret.HttpStatusCode);
        Assert.Contains("invalid_client", wrongSecret.Raw);
        TokenResponse otherClient = await Refresh("web", "web-secret", second.RefreshToken!);
        Assert.Equal("invalid_grant", otherClient.Error);
        // Revocation (RFC 7009), then the token is gone.
        TokenRevocationResponse revoked = await http.RevokeTokenAsync(new TokenRevocationRequest
        {
            Address = address + "/connect/revocation",
            ClientId = "mobile",
            ClientSecret = "mobile-secret",
            Token = second.RefreshToken!,
        });
        Assert.False(revoked.IsError, revoked.Error);
        Assert.Equal("invalid_grant", (await Refresh("mobile", "mobile-secret", second.RefreshToken!)).Error);

        // The health check reads the store.
        using HttpResponseMessage health = await http.GetAsync(address + "/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", await health.Content.ReadAsStringAsync());

        // The hosted cleanup is running.
        Assert.Contains(app.Services.GetServices<IHostedService>(), s => s is RefreshTokenCore.RefreshTokenCoreCleanupHost);

        app.Services.GetRequiredService<OpenTelemetry.Metrics.MeterProvider>().ForceFlush();
        app.Services.GetRequiredService<TracerProvider>().ForceFlush();

        long Sum(string name, Func<IReadOnlyDictionary<string, object?>, bool>? where = null)
        {
            long total = 0;
            foreach (Metric m in metrics.Where(m => m.Name == name))
            {
                foreach (ref readonly MetricPoint p in m.GetMetricPoints())
                {
                    var tags = new Dictionary<string, object?>();
                    foreach (KeyValuePair<string, object?> t in p.Tags) tags[t.Key] = t.Value;
                    if (where is null || where(tags)) total = Math.Max(total, p.GetSumLong());
                }
            }
            return total;
        }
        Assert.True(Sum("refresh_token_core.rotations") >= 1);
        Assert.True(Sum("refresh_token_core.reuse_window_hits") >= 1);
        Assert.True(Sum("refresh_token_core.operations", t => (string?)t["operation"] == "refresh" && (string?)t["outcome"] == "success") >= 3);
        Assert.True(Sum("refresh_token_core.operations", t => (string?)t["outcome"] == "refused" && t.TryGetValue("reason", out object? r) && (string?)r == "not_found") >= 1);
        Assert.Contains(metrics, m => m.Name == "refresh_token_core.operation.duration");

        Assert.Contains(spans, s => s.OperationName == "refresh_token_core.refresh" && (string?)s.GetTagItem("refresh_token_core.outcome") == "success");
        Assert.Contains(spans, s => s.OperationName == "refresh_token_core.create");
        Assert.Contains(spans, s => s.OperationName == "refresh_token_core.revoke");
        // The health probe is no client's operation: no span, no count, and its answer is logged
        // at Debug (EventId 1011, below this host's level), not as a refused token.
        Assert.DoesNotContain(spans, s => s.OperationName == "refresh_token_core.validate");
        Assert.DoesNotContain(logs, l => l.StartsWith("1002 ", StringComparison.Ordinal) && l.Contains(RefreshTokenCore.RefreshTokenCoreHealthCheck.ProbeClientId));
        Assert.Contains(logs, l => l.StartsWith("1007 ", StringComparison.Ordinal)); // the retry's successor, EventId 1007

        // No handle anywhere: not in a tag, a span, a metric dimension or a log line.
        var handles = new[] { first.RefreshToken!, second.RefreshToken!, web.RefreshToken! };
        var seen = new List<string>();
        seen.AddRange(spans.SelectMany(s => s.TagObjects.Select(t => $"{s.OperationName} {t.Key}={t.Value}")));
        seen.AddRange(spans.Select(s => s.DisplayName));
        foreach (Metric m in metrics)
        {
            foreach (ref readonly MetricPoint p in m.GetMetricPoints())
            {
                foreach (KeyValuePair<string, object?> t in p.Tags) seen.Add($"{m.Name} {t.Key}={t.Value}");
            }
        }
        lock (logs) seen.AddRange(logs);
        Assert.NotEmpty(seen);
        foreach (string h in handles)
        {
            Assert.DoesNotContain(seen, s => s.Contains(h, StringComparison.OrdinalIgnoreCase) || s.Contains(h[..16], StringComparison.OrdinalIgnoreCase));
        }
    }

    [Fact]
    public async Task A_negative_lifetime_in_configuration_fails_the_start_naming_it()
    {
        await using WebApplication bad = SampleApp.Build(new[]
        {
            "--contentRoot", AppContext.BaseDirectory,
            "--urls", "http://127.0.0.1:0",
            $"--RefreshTokenCore:SqlitePath={Path.Combine(dir, "bad.db")}",
            "--RefreshTokenCore:ReuseWindowSeconds=-5",
            "--RefreshTokenCore:NativeStore:PoolSize=0",
        });
        var e = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => bad.StartAsync());
        Assert.Contains("ReuseWindowSeconds", e.Message);
        Assert.Contains("NativeStore.PoolSize", e.Message);
    }

    [Fact]
    public async Task The_health_check_says_an_operator_must_act_when_the_table_is_gone()
    {
        using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dir, "tokens.db")}"))
        {
            db.Open();
            using var drop = db.CreateCommand();
            drop.CommandText = "DROP TABLE \"PersistedGrants\"";
            drop.ExecuteNonQuery();
        }
        using HttpResponseMessage health = await http.GetAsync(address + "/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        // ASP.NET Core's health-check log carries the check's description.
        lock (logs) Assert.Contains(logs, l => l.Contains("an operator must act", StringComparison.Ordinal));
    }

    /// <summary>Log lines as "EventId message".</summary>
    private sealed class ListLoggerProvider(List<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(lines);
        public void Dispose() { }

        private sealed class Logger(List<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (lines) lines.Add($"{eventId.Id} {formatter(state, exception)}");
            }
        }
    }
}
