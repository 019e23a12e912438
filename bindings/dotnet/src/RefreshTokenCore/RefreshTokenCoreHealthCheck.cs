using System;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace RefreshTokenCore;

/// <summary>
/// Whether the service's store answers and its table is as expected: validates a random handle
/// (one no client was ever given), which reads the store by key through every column. Unknown
/// is the healthy answer; a store that cannot be reached is unhealthy and retryable; a missing
/// table or column, a corrupt or read-only database is unhealthy and says an operator must act.
/// Nothing is written. Registered by <c>AddHealthChecks().AddRefreshTokenCore()</c>.
/// </summary>
public sealed class RefreshTokenCoreHealthCheck : IHealthCheck
{
    /// <summary>The client the probe validates as; it holds no token.</summary>
    public const string ProbeClientId = "refresh-token-core-health-probe";

    private static readonly ClientSettings Probe = new() { ClientId = ProbeClientId };
    private readonly IRefreshTokenCoreService service;

    /// <summary>A check of this service.</summary>
    public RefreshTokenCoreHealthCheck(IRefreshTokenCoreService service) =>
        this.service = service ?? throw new ArgumentNullException(nameof(service));

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        string handle = RandomNumberGenerator.GetHexString(64);
        try
        {
            // The library's own service probes without a span or a count (a probe every few
            // seconds would otherwise be most of the "refused" metric); a mock is just called.
            RefreshTokenValidationResult r = await (service is RefreshTokenService own
                ? own.ProbeAsync(handle, Probe, cancellationToken)
                : service.ValidateRefreshTokenAsync(handle, Probe, cancellationToken)).ConfigureAwait(false);
            return r.IsError && r.Reason == RefusalReason.NotFound
                ? HealthCheckResult.Healthy("the store answers")
                : new HealthCheckResult(context.Registration.FailureStatus, $"the store answered a random handle with {(r.IsError ? r.Reason : "a token")}");
        }
        catch (RefreshTokenCoreException e)
        {
            var data = new Dictionary<string, object> { ["code"] = e.Code.ToString(), ["retryable"] = e.IsRetryable };
            string what = e.IsRetryable ? "the store is unavailable (retryable)" : "the store is broken, an operator must act";
            return new HealthCheckResult(context.Registration.FailureStatus, $"{what}: {e.Message}", e, data);
        }
    }
}
