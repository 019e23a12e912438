using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace RefreshTokenCore;

/// <summary>
/// The library's log lines: source-generated, each with a stable <see cref="EventId"/> (1xxx the
/// library's events, 2xxx failures) and structured fields. Levels: what a client sends (an
/// unknown, expired or garbage token) is Information; what may be an attack or a fork (a replay,
/// a revoked family, a store without an atomic consume) is Warning; a store an operator must fix
/// is Error. Keys are persisted-grant keys (hashes), never handles.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Debug, "Refresh token created: key {Key}, client {ClientId}, subject {SubjectId}, family {FamilyId}")]
    internal static partial void Created(ILogger logger, string? key, string? clientId, string? subjectId, string? familyId);

    [LoggerMessage(1001, LogLevel.Debug, "Refresh token refreshed: key {Key} -> {NewKey}, client {ClientId}, family {FamilyId}")]
    internal static partial void Refreshed(ILogger logger, string? key, string? newKey, string? clientId, string? familyId);

    [LoggerMessage(1002, LogLevel.Information, "Refresh token refused ({Reason}): key {Key}, client {ClientId}")]
    internal static partial void Rejected(ILogger logger, string? reason, string? key, string? clientId);

    [LoggerMessage(1003, LogLevel.Warning, "A consumed refresh token was presented: key {Key}, client {ClientId}, accepted {Accepted}")]
    internal static partial void ConsumedTokenPresented(ILogger logger, string? key, string? clientId, bool accepted);

    [LoggerMessage(1004, LogLevel.Warning, "A used one-time refresh token was replayed: key {Key}, client {ClientId}, family {FamilyId}")]
    internal static partial void Replayed(ILogger logger, string? key, string? clientId, string? familyId);

    [LoggerMessage(1005, LogLevel.Warning, "A replay revoked {Removed} refresh token(s): key {Key}, subject {SubjectId}, client {ClientId}, family {FamilyId}")]
    internal static partial void ReplayRevoked(ILogger logger, long removed, string? key, string? subjectId, string? clientId, string? familyId);

    [LoggerMessage(1006, LogLevel.Information, "A parallel refresh lost the consume and got the winner's successor: key {Key}, client {ClientId}")]
    internal static partial void ConsumeLost(ILogger logger, string? key, string? clientId);

    [LoggerMessage(1007, LogLevel.Information, "A used one-time refresh token was answered with its existing successor: key {Key} -> {NewKey}, client {ClientId}")]
    internal static partial void SuccessorReturned(ILogger logger, string? key, string? newKey, string? clientId);

    [LoggerMessage(1008, LogLevel.Information, "Refresh token revoked by its client: key {Key}, client {ClientId}")]
    internal static partial void Revoked(ILogger logger, string? key, string? clientId);

    [LoggerMessage(1009, LogLevel.Information, "Token cleanup removed {ExpiredRemoved} expired and {ConsumedRemoved} consumed token(s)")]
    internal static partial void Cleanup(ILogger logger, long expiredRemoved, long consumedRemoved);

    [LoggerMessage(1010, LogLevel.Warning, "The store has no atomic conditional consume: parallel refreshes of one one-time token can fork its chain (accepted by AllowNonAtomicConsume)")]
    internal static partial void NonAtomicConsume(ILogger logger);

    [LoggerMessage(1011, LogLevel.Debug, "The health probe's random handle was answered ({Reason})")]
    internal static partial void ProbeAnswered(ILogger logger, string? reason);

    [LoggerMessage(1099, LogLevel.Debug, "refresh-token-core event {EventType}")]
    internal static partial void OtherEvent(ILogger logger, string eventType);

    [LoggerMessage(2000, LogLevel.Warning, "The store failed during {Operation} ({Code}); retryable: {Message}")]
    internal static partial void StorageUnavailable(ILogger logger, string operation, ResultCode code, string message);

    [LoggerMessage(2001, LogLevel.Error, "The store failed during {Operation} ({Code}); an operator must act: {Message}")]
    internal static partial void StorageBroken(ILogger logger, string operation, ResultCode code, string message);

    /// <summary>One event of the library (its JSON, see the header's "Events"): logged, and the
    /// counters that only events can tell.</summary>
    internal static void Event(ILogger logger, string json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement e = doc.RootElement;
        string type = Text(e, "type") ?? "";
        switch (type)
        {
            case "created":
                Created(logger, Text(e, "key"), Text(e, "client_id"), Text(e, "subject_id"), Text(e, "family_id"));
                break;
            case "refreshed":
                Refreshed(logger, Text(e, "key"), Text(e, "new_key"), Text(e, "client_id"), Text(e, "family_id"));
                break;
            case "rejected" when Text(e, "client_id") == RefreshTokenCoreHealthCheck.ProbeClientId:
                ProbeAnswered(logger, Text(e, "reason"));
                break;
            case "rejected":
                Rejected(logger, Text(e, "reason"), Text(e, "key"), Text(e, "client_id"));
                break;
            case "consumed_token_presented":
                ConsumedTokenPresented(logger, Text(e, "key"), Text(e, "client_id"), e.TryGetProperty("accepted", out JsonElement a) && a.ValueKind == JsonValueKind.True);
                break;
            case "replayed":
                RefreshTokenCoreTelemetry.Replays.Add(1);
                Replayed(logger, Text(e, "key"), Text(e, "client_id"), Text(e, "family_id"));
                break;
            case "replay_revoked":
                ReplayRevoked(logger, Number(e, "removed"), Text(e, "key"), Text(e, "subject_id"), Text(e, "client_id"), Text(e, "family_id"));
                break;
            case "consume_lost":
                RefreshTokenCoreTelemetry.ConsumeRaces.Add(1);
                ConsumeLost(logger, Text(e, "key"), Text(e, "client_id"));
                break;
            case "successor_returned":
                RefreshTokenCoreTelemetry.ReuseWindowHits.Add(1);
                SuccessorReturned(logger, Text(e, "key"), Text(e, "new_key"), Text(e, "client_id"));
                break;
            case "revoked":
                Revoked(logger, Text(e, "key"), Text(e, "client_id"));
                break;
            case "cleanup":
                Cleanup(logger, Number(e, "expired_removed"), Number(e, "consumed_removed"));
                break;
            case "non_atomic_consume":
                NonAtomicConsume(logger);
                break;
            default:
                OtherEvent(logger, type);
                break;
        }
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static long Number(JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long n) ? n : 0;
}
