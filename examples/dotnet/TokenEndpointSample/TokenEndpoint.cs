using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using RefreshTokenCore;

namespace TokenEndpointSample;

/// <summary>
/// A minimal OAuth 2.0 token endpoint (RFC 6749) on refresh-token-core: client authentication
/// (HTTP Basic, as Duende.IdentityModel sends by default, or client_id / client_secret in the
/// form), the password grant (the sample's stand-in for a sign-in: it hands out the first
/// refresh token) and the refresh_token grant (§6), with RFC 6749 error answers. A failure of
/// the store that a retry can fix is 503 temporarily_unavailable with Retry-After; one an
/// operator must fix is 500 server_error. Revocation (RFC 7009) at /connect/revocation.
/// </summary>
public static class TokenEndpoint
{
    public static void Map(WebApplication app)
    {
        app.MapPost("/connect/token", Token);
        app.MapPost("/connect/revocation", Revocation);
    }

    private static async Task<IResult> Token(HttpContext http, IRefreshTokenCoreService service, IOptions<SampleOptions> sample, IOptions<RefreshTokenServiceOptions> core)
    {
        (IFormCollection? form, ClientSettings? client, IResult? refused) = await ReadClientRequest(http, sample.Value, core.Value);
        if (refused is not null)
        {
            return refused;
        }
        try
        {
            return form!["grant_type"].ToString() switch
            {
                "refresh_token" => await Refresh(service, client!, form!, http.RequestAborted),
                "password" => await Password(service, client!, form!, sample.Value, http.RequestAborted),
                _ => Error(400, "unsupported_grant_type"),
            };
        }
        catch (RefreshTokenCoreException e) when (e.IsRetryable)
        {
            http.Response.Headers.RetryAfter = "1";
            return Error(503, "temporarily_unavailable");
        }
        catch (RefreshTokenCoreException)
        {
            // Logged by the library (EventId 2001); the client learns only that the server failed.
            return Error(500, "server_error");
        }
    }

    private static async Task<IResult> Refresh(IRefreshTokenCoreService service, ClientSettings client, IFormCollection form, CancellationToken ct)
    {
        RefreshResult r = await service.RefreshAsync(client, form["refresh_token"].ToString(), form["resource"].FirstOrDefault(), cancellationToken: ct);
        if (r.IsError)
        {
            return Error(400, r.Error!);
        }
        return Tokens(r.AccessToken!.Lifetime, r.Handle, r.RefreshToken!.AuthorizedScopes);
    }

    private static async Task<IResult> Password(IRefreshTokenCoreService service, ClientSettings client, IFormCollection form, SampleOptions sample, CancellationToken ct)
    {
        SampleUser? user = sample.Users.FirstOrDefault(u => u.Username == form["username"].ToString());
        if (user is null || !Same(user.Password, form["password"].ToString()))
        {
            return Error(400, "invalid_grant");
        }
        string[] scopes = form["scope"].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (scopes.Any(s => !sample.Scopes.Contains(s)))
        {
            return Error(400, "invalid_scope");
        }
        string? handle = null;
        if (scopes.Contains("offline_access") && client.AllowOfflineAccess)
        {
            handle = await service.CreateRefreshTokenAsync(new CreateRefreshTokenRequest
            {
                Client = client,
                Subject = new ClaimsPrincipal(new ClaimsIdentity(new[] { new Claim("sub", user.SubjectId) }, "pwd")),
                SessionId = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)),
                AuthorizedScopes = scopes,
            }, ct);
        }
        return Tokens(client.AccessTokenLifetime, handle, scopes);
    }

    private static async Task<IResult> Revocation(HttpContext http, IRefreshTokenCoreService service, IOptions<SampleOptions> sample, IOptions<RefreshTokenServiceOptions> core)
    {
        (IFormCollection? form, ClientSettings? client, IResult? refused) = await ReadClientRequest(http, sample.Value, core.Value);
        if (refused is not null)
        {
            return refused;
        }
        try
        {
            RevocationResult r = await service.RevokeAsync(form!["token"].ToString(), client!, http.RequestAborted);
            return r.IsError ? Error(400, r.Error!) : Results.Ok();
        }
        catch (RefreshTokenCoreException e) when (e.IsRetryable)
        {
            http.Response.Headers.RetryAfter = "1";
            return Error(503, "temporarily_unavailable");
        }
    }

    /// <summary>
    /// A real server mints a signed JWT from the access-token record; the sample answers an
    /// opaque random value, which nothing here accepts.
    /// </summary>
    private static IResult Tokens(int lifetime, string? refreshToken, IEnumerable<string> scopes)
    {
        var body = new Dictionary<string, object>
        {
            ["access_token"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)),
            ["token_type"] = "Bearer",
            ["expires_in"] = lifetime,
            ["scope"] = string.Join(' ', scopes),
        };
        if (refreshToken is not null)
        {
            body["refresh_token"] = refreshToken;
        }
        return Results.Json(body);
    }

    /// <summary>What both endpoints begin with: a form, and the client it authenticates; or the
    /// answer to give instead.</summary>
    private static async Task<(IFormCollection? Form, ClientSettings? Client, IResult? Refused)> ReadClientRequest(HttpContext http, SampleOptions sample, RefreshTokenServiceOptions core)
    {
        if (!http.Request.HasFormContentType)
        {
            return (null, null, Error(400, "invalid_request"));
        }
        IFormCollection form = await http.Request.ReadFormAsync(http.RequestAborted);
        ClientSettings? client = Authenticate(http.Request, form, sample, core, out bool basic);
        return client is null ? (form, null, InvalidClient(http, basic)) : (form, client, null);
    }

    /// <summary>RFC 6749 §5.2: 401 with a challenge when the client tried HTTP Basic, else 400.</summary>
    private static IResult InvalidClient(HttpContext http, bool basic)
    {
        if (basic)
        {
            http.Response.Headers.WWWAuthenticate = "Basic realm=\"token\"";
        }
        return Error(basic ? 401 : 400, "invalid_client");
    }

    private static IResult Error(int status, string error) =>
        Results.Json(new Dictionary<string, string> { ["error"] = error }, statusCode: status);

    /// <summary>The client the request authenticates as, or null.</summary>
    private static ClientSettings? Authenticate(HttpRequest request, IFormCollection form, SampleOptions sample, RefreshTokenServiceOptions core, out bool basic)
    {
        (string? id, string? secret) = Credentials(request, form, out basic);
        if (id is null || !sample.ClientSecrets.TryGetValue(id, out string? expected) || !Same(expected, secret))
        {
            return null;
        }
        return core.Clients.FirstOrDefault(c => c.ClientId == id);
    }

    private static (string? Id, string? Secret) Credentials(HttpRequest request, IFormCollection form, out bool basic)
    {
        string header = request.Headers.Authorization.ToString();
        basic = header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase);
        if (!basic)
        {
            return (form["client_id"].FirstOrDefault(), form["client_secret"].FirstOrDefault());
        }
        try
        {
            // RFC 6749 §2.3.1: both halves form-urlencoded before Base64.
            string decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
            int colon = decoded.IndexOf(':');
            if (colon > 0)
            {
                return (Uri.UnescapeDataString(decoded[..colon].Replace('+', ' ')), Uri.UnescapeDataString(decoded[(colon + 1)..].Replace('+', ' ')));
            }
        }
        catch (FormatException)
        {
        }
        return (null, null);
    }

    private static bool Same(string expected, string? given) =>
        given is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(given));
}
