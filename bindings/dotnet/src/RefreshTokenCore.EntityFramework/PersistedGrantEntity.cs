using System;

namespace RefreshTokenCore.EntityFramework;

/// <summary>A row of Duende's <c>PersistedGrants</c> table (the EF Core operational store entity,
/// Duende 6.1+: an identity Id primary key and a unique, nullable Key).</summary>
public sealed class PersistedGrantEntity
{
    /// <summary>Identity primary key.</summary>
    public long Id { get; set; }
    /// <summary>The hashed key; unique.</summary>
    public string? Key { get; set; }
    /// <summary>Grant type.</summary>
    public string Type { get; set; } = string.Empty;
    /// <summary>Subject id.</summary>
    public string? SubjectId { get; set; }
    /// <summary>Session id.</summary>
    public string? SessionId { get; set; }
    /// <summary>Client id.</summary>
    public string ClientId { get; set; } = string.Empty;
    /// <summary>Description.</summary>
    public string? Description { get; set; }
    /// <summary>Creation time (UTC).</summary>
    public DateTime CreationTime { get; set; }
    /// <summary>Expiration (UTC).</summary>
    public DateTime? Expiration { get; set; }
    /// <summary>Consumed time (UTC).</summary>
    public DateTime? ConsumedTime { get; set; }
    /// <summary>The serialized payload.</summary>
    public string Data { get; set; } = string.Empty;
}
