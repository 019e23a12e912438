using System;
using System.Collections.Generic;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RefreshTokenCore;

/// <summary>Claims as the reference stores them: {"Type","Value","ValueType"?,"Issuer"?}, with
/// the string value type omitted.</summary>
internal sealed class ClaimListConverter : JsonConverter<List<Claim>>
{
    public override List<Claim> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var list = new List<Claim>();
        if (reader.TokenType == JsonTokenType.Null)
        {
            return list;
        }
        // Streamed, not through a JsonDocument: a token has dozens of claims, read on every
        // validation.
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("Claims must be an array");
        }
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new JsonException("a claim must be an object");
            }
            string? type = null, value = null, valueType = null, issuer = null;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                string name = reader.GetString()!;
                reader.Read();
                switch (name)
                {
                    case "Type": type = Text(ref reader, name) ?? throw new JsonException("a claim's Type must be a string"); break;
                    case "Value": value = Text(ref reader, name); break;
                    case "ValueType": valueType = Text(ref reader, name); break;
                    case "Issuer": issuer = Text(ref reader, name); break;
                    default: reader.Skip(); break;
                }
            }
            if (type is null)
            {
                throw new JsonException("a claim has no Type");
            }
            value ??= string.Empty;
            valueType ??= ClaimValueTypes.String;
            list.Add(issuer is null ? new Claim(type, value, valueType) : new Claim(type, value, valueType, issuer));
        }
        return list;
    }

    /// <summary>A string or null; anything else is not a claim the reference wrote.</summary>
    private static string? Text(ref Utf8JsonReader reader, string name) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Null => null,
        _ => throw new JsonException($"a claim's {name} must be a string"),
    };

    public override void Write(Utf8JsonWriter writer, List<Claim> value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (Claim c in value)
        {
            writer.WriteStartObject();
            writer.WriteString("Type", c.Type);
            writer.WriteString("Value", c.Value);
            if (c.ValueType != ClaimValueTypes.String)
            {
                writer.WriteString("ValueType", c.ValueType);
            }
            if (c.Issuer != ClaimsIdentity.DefaultIssuer)
            {
                writer.WriteString("Issuer", c.Issuer);
            }
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }
}

/// <summary>A principal as the reference stores it: {"AuthenticationType","Claims":[...]}.</summary>
internal sealed class ClaimsPrincipalConverter : JsonConverter<ClaimsPrincipal>
{
    private static readonly ClaimListConverter Claims = new();

    public override ClaimsPrincipal Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        string? authType = null;
        List<Claim> claims = new();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("Subject must be an object");
        }
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            string name = reader.GetString()!;
            reader.Read();
            if (name == "AuthenticationType")
            {
                authType = reader.TokenType == JsonTokenType.Null ? null : reader.GetString();
            }
            else if (name == "Claims")
            {
                claims = Claims.Read(ref reader, typeof(List<Claim>), options);
            }
            else
            {
                reader.Skip();
            }
        }
        return new ClaimsPrincipal(new ClaimsIdentity(claims, authType, "name", "role"));
    }

    public override void Write(Utf8JsonWriter writer, ClaimsPrincipal value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        string? authType = value.Identity?.AuthenticationType;
        if (authType is not null)
        {
            writer.WriteString("AuthenticationType", authType);
        }
        writer.WritePropertyName("Claims");
        Claims.Write(writer, new List<Claim>(value.Claims), options);
        writer.WriteEndObject();
    }
}

/// <summary>The JSON settings of the records that cross the ABI: PascalCase, enums as numbers,
/// nulls omitted, as the reference's persisted-grant serializer.</summary>
internal static class Json
{
    internal static readonly JsonSerializerOptions Options = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    // The records are read from and written to UTF-8 directly: the library's strings are
    // UTF-8, and a detour through a .NET string would transcode each one twice.
    // The library's own output takes the streamed reader; the serializer reads what it is not
    // sure of (and is the specification both are tested against).
    internal static RefreshTokenRecord ReadRefreshToken(ReadOnlySpan<byte> json) =>
        Checked(json, RecordReader.TryRefreshToken(json))
        ?? JsonSerializer.Deserialize<RefreshTokenRecord>(json, Options) ?? throw new JsonException("null refresh token");

    internal static RefreshTokenRecord ReadRefreshToken(string json) =>
        JsonSerializer.Deserialize<RefreshTokenRecord>(json, Options) ?? throw new JsonException("null refresh token");

    internal static AccessTokenRecord ReadToken(ReadOnlySpan<byte> json) =>
        Checked(json, RecordReader.TryAccessToken(json))
        ?? JsonSerializer.Deserialize<AccessTokenRecord>(json, Options) ?? throw new JsonException("null token");

    /// <summary>Debug builds (every test run) hold each answer of the streamed reader to the
    /// serializer's, compared by what the serializer writes of both.</summary>
    private static T? Checked<T>(ReadOnlySpan<byte> json, T? fast) where T : class
    {
#if DEBUG
        if (fast is not null)
        {
            T spec = JsonSerializer.Deserialize<T>(json, Options)!;
            if (!JsonSerializer.SerializeToUtf8Bytes(spec, Options).AsSpan().SequenceEqual(JsonSerializer.SerializeToUtf8Bytes(fast, Options)))
            {
                throw new InvalidOperationException("the streamed record reader and the serializer disagree on " + System.Text.Encoding.UTF8.GetString(json));
            }
        }
#endif
        return fast;
    }

    internal static string Write<T>(T value) => JsonSerializer.Serialize(value, Options);

    internal static byte[] WriteUtf8<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Options);
}
