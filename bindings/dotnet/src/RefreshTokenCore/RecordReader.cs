using System;
using System.Collections.Generic;
using System.Security.Claims;
using System.Text.Json;

namespace RefreshTokenCore;

/// <summary>
/// The token records the library hands back (the Data column's version-5 JSON, as it writes it),
/// read with one <see cref="Utf8JsonReader"/> pass straight into the models: every validation
/// reads one, and System.Text.Json's serializer spent a third of an adapter's ReUse refresh on it
/// (its metadata-driven read stack and the extension data's documents). It answers only when it
/// is sure: anything it does not expect (an escaped property name, a null where the library
/// writes a value, a wrong type, a repeated unknown property, trailing text) is
/// <see langword="null"/>, and the caller reads the text with the serializer, which stays the
/// specification. The tests hold the two to the same models.
/// </summary>
internal static class RecordReader
{
    private static readonly ClaimListConverter ClaimList = new();
    private static readonly ClaimsPrincipalConverter Principal = new();

    internal static RefreshTokenRecord? TryRefreshToken(ReadOnlySpan<byte> json) => One(json, RefreshToken);

    internal static AccessTokenRecord? TryAccessToken(ReadOnlySpan<byte> json) => One(json, AccessToken);

    private delegate T? Reads<T>(ref Utf8JsonReader reader) where T : class;

    /// <summary>One JSON value read by <paramref name="read"/>, or null when the reader is not
    /// sure (the serializer then reads it, and refuses what is to be refused).</summary>
    private static T? One<T>(ReadOnlySpan<byte> json, Reads<T> read) where T : class
    {
        var reader = new Utf8JsonReader(json);
        try
        {
            if (!reader.Read() || read(ref reader) is not { } value)
            {
                return null;
            }
            // Anything after the one value is the serializer's to refuse.
            return reader.Read() ? null : value;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    private static RefreshTokenRecord? RefreshToken(ref Utf8JsonReader r)
    {
        if (r.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }
        var t = new RefreshTokenRecord();
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (r.ValueIsEscaped)
            {
                return null;
            }
            ReadOnlySpan<byte> name = r.ValueSpan;
            r.Read();
            if (name.SequenceEqual("CreationTime"u8)) t.CreationTime = Date(ref r);
            else if (name.SequenceEqual("Lifetime"u8)) t.Lifetime = Int(ref r);
            else if (name.SequenceEqual("ConsumedTime"u8)) t.ConsumedTime = r.TokenType == JsonTokenType.Null ? null : Date(ref r);
            else if (name.SequenceEqual("AccessTokens"u8))
            {
                if (AccessTokens(ref r) is not { } tokens) return null;
                t.AccessTokens = tokens;
            }
            else if (name.SequenceEqual("Subject"u8)) t.Subject = Principal.Read(ref r, typeof(ClaimsPrincipal), Json.Options);
            else if (name.SequenceEqual("Version"u8)) t.Version = Int(ref r);
            else if (name.SequenceEqual("ClientId"u8)) t.ClientId = Text(ref r)!;
            else if (name.SequenceEqual("SessionId"u8)) t.SessionId = Text(ref r);
            else if (name.SequenceEqual("Description"u8)) t.Description = Text(ref r);
            else if (name.SequenceEqual("AuthorizedScopes"u8))
            {
                if (Strings(ref r) is not { } scopes) return null;
                t.AuthorizedScopes = scopes;
            }
            else if (name.SequenceEqual("AuthorizedResourceIndicators"u8))
            {
                if (Strings(ref r) is not { } indicators) return null;
                t.AuthorizedResourceIndicators = indicators;
            }
            else if (name.SequenceEqual("ProofType"u8)) t.ProofType = r.TokenType == JsonTokenType.Null ? null : Int(ref r);
            else if (!Extra(ref r, name, t.Extra ??= new Dictionary<string, JsonElement>(StringComparer.Ordinal))) return null;
        }
        return r.TokenType == JsonTokenType.EndObject ? t : null;
    }

    private static Dictionary<string, AccessTokenRecord>? AccessTokens(ref Utf8JsonReader r)
    {
        if (r.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }
        var tokens = new Dictionary<string, AccessTokenRecord>(StringComparer.Ordinal);
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            string key = r.GetString()!;
            r.Read();
            if (AccessToken(ref r) is not { } token)
            {
                return null;
            }
            tokens[key] = token;
        }
        return r.TokenType == JsonTokenType.EndObject ? tokens : null;
    }

    private static AccessTokenRecord? AccessToken(ref Utf8JsonReader r)
    {
        if (r.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }
        var t = new AccessTokenRecord();
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (r.ValueIsEscaped)
            {
                return null;
            }
            ReadOnlySpan<byte> name = r.ValueSpan;
            r.Read();
            if (name.SequenceEqual("AllowedSigningAlgorithms"u8))
            {
                if (Strings(ref r) is not { } algorithms) return null;
                t.AllowedSigningAlgorithms = algorithms;
            }
            else if (name.SequenceEqual("Confirmation"u8)) t.Confirmation = Text(ref r);
            else if (name.SequenceEqual("Audiences"u8))
            {
                if (Strings(ref r) is not { } audiences) return null;
                t.Audiences = audiences;
            }
            else if (name.SequenceEqual("Issuer"u8)) t.Issuer = Text(ref r);
            else if (name.SequenceEqual("CreationTime"u8)) t.CreationTime = Date(ref r);
            else if (name.SequenceEqual("Lifetime"u8)) t.Lifetime = Int(ref r);
            else if (name.SequenceEqual("Type"u8)) t.Type = Text(ref r)!;
            else if (name.SequenceEqual("ClientId"u8)) t.ClientId = Text(ref r);
            else if (name.SequenceEqual("AccessTokenType"u8)) t.AccessTokenType = (AccessTokenFormat)Int(ref r);
            else if (name.SequenceEqual("Description"u8)) t.Description = Text(ref r);
            else if (name.SequenceEqual("IncludeJwtId"u8)) t.IncludeJwtId = r.GetBoolean();
            else if (name.SequenceEqual("Claims"u8))
            {
                if (r.TokenType != JsonTokenType.StartArray) return null;
                t.Claims = ClaimList.Read(ref r, typeof(List<Claim>), Json.Options);
            }
            else if (name.SequenceEqual("Version"u8)) t.Version = Int(ref r);
            else if (!Extra(ref r, name, t.Extra ??= new Dictionary<string, JsonElement>(StringComparer.Ordinal))) return null;
        }
        return r.TokenType == JsonTokenType.EndObject ? t : null;
    }

    /// <summary>A property the models have no place for, kept as the serializer's extension
    /// data keeps it; a repeated one is left to the serializer.</summary>
    private static bool Extra(ref Utf8JsonReader r, ReadOnlySpan<byte> name, Dictionary<string, JsonElement> extra) =>
        extra.TryAdd(System.Text.Encoding.UTF8.GetString(name), JsonElement.ParseValue(ref r));

    private static DateTime Date(ref Utf8JsonReader r) =>
        r.TokenType == JsonTokenType.String ? r.GetDateTime() : throw new FormatException();

    private static int Int(ref Utf8JsonReader r) =>
        r.TokenType == JsonTokenType.Number ? r.GetInt32() : throw new FormatException();

    private static string? Text(ref Utf8JsonReader r) => r.TokenType switch
    {
        JsonTokenType.String => r.GetString(),
        JsonTokenType.Null => null,
        _ => throw new FormatException(),
    };

    private static List<string>? Strings(ref Utf8JsonReader r)
    {
        if (r.TokenType != JsonTokenType.StartArray)
        {
            return null;
        }
        var list = new List<string>();
        while (r.Read() && r.TokenType == JsonTokenType.String)
        {
            list.Add(r.GetString()!);
        }
        return r.TokenType == JsonTokenType.EndArray ? list : null;
    }
}
