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
        using JsonDocument doc = JsonDocument.ParseValue(ref reader);
        foreach (JsonElement c in doc.RootElement.EnumerateArray())
        {
            string type = c.GetProperty("Type").GetString() ?? string.Empty;
            string value = c.TryGetProperty("Value", out JsonElement v) ? v.GetString() ?? string.Empty : string.Empty;
            string valueType = c.TryGetProperty("ValueType", out JsonElement vt) && vt.ValueKind == JsonValueKind.String ? vt.GetString()! : ClaimValueTypes.String;
            string? issuer = c.TryGetProperty("Issuer", out JsonElement i) && i.ValueKind == JsonValueKind.String ? i.GetString() : null;
            list.Add(issuer is null ? new Claim(type, value, valueType) : new Claim(type, value, valueType, issuer));
        }
        return list;
    }

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

    internal static RefreshTokenRecord ReadRefreshToken(string json) =>
        JsonSerializer.Deserialize<RefreshTokenRecord>(json, Options) ?? throw new JsonException("null refresh token");

    internal static AccessTokenRecord ReadToken(string json) =>
        JsonSerializer.Deserialize<AccessTokenRecord>(json, Options) ?? throw new JsonException("null token");

    internal static string Write<T>(T value) => JsonSerializer.Serialize(value, Options);
}
