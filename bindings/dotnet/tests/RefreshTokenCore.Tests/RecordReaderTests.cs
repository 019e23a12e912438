using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Xunit;

namespace RefreshTokenCore.Tests;

/// <summary>
/// The streamed record reader against System.Text.Json's serializer, the specification: on every
/// record it reads, the same model (compared by what the serializer writes of both); on what it
/// is not sure of, no answer, so the serializer reads (or refuses) it.
/// </summary>
public class RecordReaderTests
{
    private static string Written(object model) => Encoding.UTF8.GetString(Json.WriteUtf8(model));

    private static void Agrees(string json)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(json);
        RefreshTokenRecord? fast = RecordReader.TryRefreshToken(utf8);
        Assert.True(fast is not null, $"the reader took no answer on {json}");
        RefreshTokenRecord spec = JsonSerializer.Deserialize<RefreshTokenRecord>(utf8, Json.Options)!;
        Assert.Equal(Written(spec), Written(fast));
        // The claims' value types and issuers are not all written back: compare them too.
        Assert.Equal(Claims(spec), Claims(fast));
    }

    private static string Claims(RefreshTokenRecord r) =>
        string.Join("|", r.Subject.Claims.Concat(r.AccessTokens.Values.SelectMany(t => t.Claims)).Select(c => $"{c.Type}={c.Value};{c.ValueType};{c.Issuer}"));

    private static DirectoryInfo Fixtures()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Cargo.toml")))
            {
                return new DirectoryInfo(Path.Combine(d.FullName, "..", "shared", "fixtures", "duende-7.4.8"));
            }
        }
        throw new DirectoryNotFoundException("the repository root (Cargo.toml) above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void Every_payload_Duende_7_4_8_wrote_reads_as_the_serializer_reads_it()
    {
        FileInfo[] files = Fixtures().GetFiles("*.json");
        Assert.NotEmpty(files);
        int read = 0;
        foreach (FileInfo f in files)
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(f.FullName));
            if (doc.RootElement.TryGetProperty("inner_json", out JsonElement inner) && inner.ValueKind == JsonValueKind.String)
            {
                Agrees(inner.GetString()!);
                read++;
            }
        }
        Assert.True(read >= 10, $"{read} payloads");
    }

    [Fact]
    public async Task Every_record_the_library_hands_back_reads_as_the_serializer_reads_it()
    {
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions());
        ClientSettings spa = TestSupport.Spa();
        CreateRefreshTokenRequest request = TestSupport.Request(spa);
        (string handle, RefreshTokenRecord created) = await service.CreateAsync(new CreateRefreshTokenRequest
        {
            Client = spa,
            Subject = request.Subject,
            SessionId = "S\u00e9ssion \"1\"",
            Description = "Zo\u00eb's phone \\ \u2603",
            AuthorizedScopes = new[] { "openid", "api1", "offline_access" },
            AuthorizedResourceIndicators = new[] { "urn:api1", "urn:api2" },
            RequestedResourceIndicator = "urn:api1",
            ProofType = 2,
        });
        Agrees(Written(created));
        RefreshResult refreshed = await service.RefreshAsync(spa, handle, "urn:api1");
        Assert.False(refreshed.IsError);
        Agrees(Written(refreshed.RefreshToken!));
        // And the library's own bytes, as every validation reads them.
        Agrees(NativeRecord(service, spa, refreshed.Handle!));
        RefreshTokenValidationResult v = await service.ValidateRefreshTokenAsync(refreshed.Handle!, spa);
        Assert.Equal(Written(refreshed.RefreshToken!), Written(v.RefreshToken!));
    }

    /// <summary>The record exactly as the library writes it (its synchronous validation).</summary>
    private static unsafe string NativeRecord(RefreshTokenService service, ClientSettings client, string handle)
    {
        byte[] id = Encoding.UTF8.GetBytes(client.ClientId), h = Encoding.UTF8.GetBytes(handle);
        byte* json = null;
        nint err = 0;
        fixed (byte* pid = id, ph = h)
        {
            Assert.Equal(ResultCode.Ok, Native.NativeMethods.rtc_service_validate(service.NativeHandle, pid, (nuint)id.Length, ph, (nuint)h.Length, &json, &err));
        }
        return Native.Utf8.Take(json)!;
    }

    public static IEnumerable<object[]> Unsure() => new[]
    {
        new object[] { """{"C\u0072eationTime":"2026-01-01T00:00:00Z","Lifetime":1,"Subject":{"Claims":[]},"ClientId":"c"}""" },
        new object[] { """{"CreationTime":"2026-01-01T00:00:00Z","Lifetime":1,"Subject":{"Claims":[]},"ClientId":"c","AuthorizedScopes":null}""" },
        new object[] { """{"CreationTime":"2026-01-01T00:00:00Z","Lifetime":"1","Subject":{"Claims":[]},"ClientId":"c"}""" },
        new object[] { """{"CreationTime":"2026-01-01T00:00:00Z","Lifetime":1,"Subject":null,"ClientId":"c"}""" },
        new object[] { """{"CreationTime":"2026-01-01T00:00:00Z","Lifetime":1,"Subject":{"Claims":[]},"ClientId":"c","X":1,"X":2}""" },
        new object[] { """{"CreationTime":"2026-01-01T00:00:00Z","Lifetime":1,"Subject":{"Claims":[]},"ClientId":"c"} {}""" },
        new object[] { """{"CreationTime":"2026-01-01T00:00:00Z","Lifetime":1,"AccessTokens":{"":{"Claims":null}},"Subject":{"Claims":[]},"ClientId":"c"}""" },
        new object[] { """{"CreationTime":"yesterday","Lifetime":1,"Subject":{"Claims":[]},"ClientId":"c"}""" },
        new object[] { """[1]""" },
    };

    [Theory]
    [MemberData(nameof(Unsure))]
    public void What_it_is_not_sure_of_is_left_to_the_serializer(string json)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(json);
        Assert.Null(RecordReader.TryRefreshToken(utf8));
        // The serializer then answers as it always did: a model, or its own error.
        try
        {
            RefreshTokenRecord viaJson = Json.ReadRefreshToken(utf8);
            Assert.Equal(Written(JsonSerializer.Deserialize<RefreshTokenRecord>(utf8, Json.Options)!), Written(viaJson));
        }
        catch (JsonException)
        {
            Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<RefreshTokenRecord>(utf8, Json.Options));
        }
    }

    [Fact]
    public void Unknown_properties_are_kept_as_the_serializers_extension_data_keeps_them()
    {
        Agrees("""{"CreationTime":"2026-01-01T00:00:00.1234567Z","Lifetime":1,"AccessTokens":{"":{"Claims":[{"Type":"n","Value":"1","ValueType":"http://www.w3.org/2001/XMLSchema#integer","Issuer":"me"}],"Future":{"a":[1,2,{"b":null}]},"Scopes":["x"]}},"Subject":{"AuthenticationType":null,"Claims":[{"Type":"sub","Value":"a"}]},"ClientId":"c","RefreshTokenCore":{"FamilyId":"F"},"Newer":true,"ConsumedTime":null,"ProofType":null}""");
    }
}
