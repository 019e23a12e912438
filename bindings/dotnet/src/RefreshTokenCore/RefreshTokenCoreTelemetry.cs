using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace RefreshTokenCore;

/// <summary>
/// The library's metrics and traces, OpenTelemetry-ready: add <see cref="MeterName"/> with
/// <c>AddMeter</c> and <see cref="ActivitySourceName"/> with <c>AddSource</c>. A span per
/// operation and a count and duration per outcome; the counters that need the library's events
/// (replays, reuse-window hits, lost consume races) count when the service has a logger, which
/// <c>AddRefreshTokenCore</c> always gives it. No tag, span or log carries a handle: keys are
/// the persisted-grant keys (hashes), as Duende logs them.
/// </summary>
public static class RefreshTokenCoreTelemetry
{
    /// <summary>The <see cref="Meter"/>'s name.</summary>
    public const string MeterName = "RefreshTokenCore";
    /// <summary>The <see cref="ActivitySource"/>'s name.</summary>
    public const string ActivitySourceName = "RefreshTokenCore";

    private static readonly string Version =
        typeof(RefreshTokenCoreTelemetry).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";

    internal static readonly ActivitySource Source = new(ActivitySourceName, Version);
    internal static readonly Meter Meter = new(MeterName, Version);

    /// <summary>Operations by operation, outcome (success, refused, storage_failure, canceled,
    /// error) and, for a refusal, its reason.</summary>
    internal static readonly Counter<long> Operations = Meter.CreateCounter<long>(
        "refresh_token_core.operations", "{operation}", "Operations of the refresh-token service, by outcome");
    internal static readonly Histogram<double> Duration = Meter.CreateHistogram<double>(
        "refresh_token_core.operation.duration", "s", "Duration of an operation of the refresh-token service");
    internal static readonly Counter<long> Rotations = Meter.CreateCounter<long>(
        "refresh_token_core.rotations", "{token}", "Refreshes that handed out a new refresh token");
    internal static readonly Counter<long> Replays = Meter.CreateCounter<long>(
        "refresh_token_core.replays", "{token}", "Used one-time tokens presented outside their reuse window");
    internal static readonly Counter<long> ReuseWindowHits = Meter.CreateCounter<long>(
        "refresh_token_core.reuse_window_hits", "{token}", "Used one-time tokens answered with their existing successor (a retry)");
    internal static readonly Counter<long> ConsumeRaces = Meter.CreateCounter<long>(
        "refresh_token_core.consume_races_lost", "{request}", "Parallel refreshes of one token answered with the winner's successor");
    internal static readonly Counter<long> StorageFailures = Meter.CreateCounter<long>(
        "refresh_token_core.storage_failures", "{failure}", "Operations that failed in the store or a host callback, by retryable");

    /// <summary>Whether anything listens, so that an unobserved operation costs nothing extra.</summary>
    internal static bool Observed => Operations.Enabled || Duration.Enabled || StorageFailures.Enabled || Rotations.Enabled;

    /// <summary>Completes an operation's span, metrics and failure log when its task does. A
    /// store that answered at once (memory, the native stores) completed it already: that is
    /// recorded here, without an asynchronous continuation on every operation.</summary>
    internal static Task<T> Observe<T>(string operation, Task<T> task, Activity? activity, long started, ILogger? logger)
    {
        if (!task.IsCompletedSuccessfully)
        {
            return ObserveAsync(operation, task, activity, started, logger);
        }
        Succeeded(operation, task.Result, activity, started);
        activity?.Dispose();
        return task;
    }

    private static async Task<T> ObserveAsync<T>(string operation, Task<T> task, Activity? activity, long started, ILogger? logger)
    {
        try
        {
            T result = await task.ConfigureAwait(false);
            Succeeded(operation, result, activity, started);
            return result;
        }
        catch (Exception e)
        {
            Failed(operation, e, activity, started, logger);
            throw;
        }
        finally
        {
            activity?.Dispose();
        }
    }

    private static void Succeeded<T>(string operation, T result, Activity? activity, long started)
    {
        (string outcome, RefusalReason reason) = Classify(result);
        if (result is RefreshResult { IsError: false, Rotated: true })
        {
            Rotations.Add(1);
        }
        Record(operation, outcome, reason, activity, started);
    }

    /// <summary>An operation that failed before its task was made (or with it).</summary>
    internal static void Failed(string operation, Exception e, Activity? activity, long started, ILogger? logger)
    {
        string outcome = e switch
        {
            OperationCanceledException => "canceled",
            RefreshTokenCoreException { Code: >= ResultCode.StorageUnavailable and < ResultCode.Panic } => "storage_failure",
            _ => "error",
        };
        if (outcome == "storage_failure" && e is RefreshTokenCoreException core)
        {
            StorageFailures.Add(1, new KeyValuePair<string, object?>("operation", operation), new KeyValuePair<string, object?>("retryable", core.IsRetryable));
            if (logger is not null)
            {
                if (core.IsRetryable) Log.StorageUnavailable(logger, operation, core.Code, core.Message);
                else Log.StorageBroken(logger, operation, core.Code, core.Message);
            }
        }
        activity?.SetStatus(ActivityStatusCode.Error, outcome);
        activity?.SetTag("error.type", outcome == "error" ? e.GetType().FullName : outcome);
        Record(operation, outcome, RefusalReason.None, activity, started);
    }

    private static (string Outcome, RefusalReason Reason) Classify(object? result) => result switch
    {
        RefreshResult { IsError: true } r => ("refused", r.Reason),
        RefreshTokenValidationResult { IsError: true } v => ("refused", v.Reason),
        RevocationResult { IsError: true } x => ("refused", x.Reason),
        _ => ("success", RefusalReason.None),
    };

    private static void Record(string operation, string outcome, RefusalReason reason, Activity? activity, long started)
    {
        var tags = new TagList
        {
            { "operation", operation },
            { "outcome", outcome },
        };
        if (reason != RefusalReason.None)
        {
            tags.Add("reason", Reasons.Name(reason));
        }
        Operations.Add(1, tags);
        Duration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
        if (activity is not null)
        {
            activity.SetTag("refresh_token_core.outcome", outcome);
            if (reason != RefusalReason.None) activity.SetTag("refresh_token_core.reason", Reasons.Name(reason));
        }
    }
}

/// <summary>The wire names of refusal reasons (the library's <c>rtc_reason</c> names).</summary>
internal static class Reasons
{
    internal static string Name(RefusalReason r) => r switch
    {
        RefusalReason.NotFound => "not_found",
        RefusalReason.Expired => "expired",
        RefusalReason.ClientMismatch => "client_mismatch",
        RefusalReason.OfflineAccessNotAllowed => "offline_access_not_allowed",
        RefusalReason.Consumed => "consumed",
        RefusalReason.SubjectInactive => "subject_inactive",
        RefusalReason.Malformed => "malformed",
        RefusalReason.TooLarge => "too_large",
        _ => "none",
    };
}
