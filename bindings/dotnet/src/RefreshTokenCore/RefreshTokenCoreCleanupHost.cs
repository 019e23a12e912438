using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace RefreshTokenCore;

/// <summary>
/// The options of the hosted token cleanup (as Duende's <c>TokenCleanupHost</c>): every
/// <see cref="Interval"/>, one <see cref="IRefreshTokenCoreService.CleanupAsync"/> pass (expired
/// grants in batches of <see cref="RefreshTokenServiceOptions.TokenCleanupBatchSize"/>, then the
/// consumed ones if configured). Registered by <see cref="ServiceCollectionExtensions.AddRefreshTokenCoreCleanup"/>.
/// </summary>
public sealed class RefreshTokenCleanupOptions
{
    /// <summary>Whether the host runs passes at all (Duende's <c>EnableTokenCleanup</c>). Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Time between passes (Duende's <c>TokenCleanupInterval</c>, 3600 s by default).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);
}

/// <summary>Runs the cleanup passes in the background; a failed pass is logged and the next
/// one runs on time, so a storage outage never stops the host.</summary>
public sealed class RefreshTokenCoreCleanupHost : BackgroundService
{
    private readonly IRefreshTokenCoreService service;
    private readonly RefreshTokenCleanupOptions options;
    private readonly TimeProvider time;
    private readonly ILogger logger;

    /// <summary>Created by the container.</summary>
    public RefreshTokenCoreCleanupHost(IRefreshTokenCoreService service, IOptions<RefreshTokenCleanupOptions> options,
        ILogger<RefreshTokenCoreCleanupHost>? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(options);
        this.service = service;
        this.options = options.Value;
        this.time = time ?? TimeProvider.System;
        this.logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>How many passes have finished, successful or not (for health checks and tests).</summary>
    public long Passes => Interlocked.Read(ref passes);
    private long passes;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Enabled) return;
        using var timer = new PeriodicTimer(options.Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await RunPassAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass; never throws but for the host stopping.</summary>
    internal async Task RunPassAsync(CancellationToken cancellationToken)
    {
        try
        {
            CleanupResult r = await service.CleanupAsync(cancellationToken).ConfigureAwait(false);
            if (r.ExpiredRemoved + r.ConsumedRemoved > 0)
            {
                logger.LogInformation(new EventId(1, "CleanupPass"), "Token cleanup removed {ExpiredRemoved} expired and {ConsumedRemoved} consumed grants", r.ExpiredRemoved, r.ConsumedRemoved);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (RefreshTokenCoreException e) when (e.IsRetryable)
        {
            logger.LogWarning(new EventId(2, "CleanupPassFailed"), e, "Token cleanup pass failed; the next pass runs in {Interval}", options.Interval);
        }
        catch (Exception e)
        {
            logger.LogError(new EventId(3, "CleanupPassBroken"), e, "Token cleanup pass failed and will fail again until an operator acts; the next pass runs in {Interval}", options.Interval);
        }
        finally
        {
            Interlocked.Increment(ref passes);
        }
    }
}
