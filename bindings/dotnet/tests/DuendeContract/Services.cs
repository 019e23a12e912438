// CONTRACT FOR COMPILE TESTS ONLY - see README.md in this folder. Not Duende IdentityServer.
#nullable enable
using System.Threading.Tasks;
using Duende.IdentityServer.Models;
using Duende.IdentityServer.Validation;
using Microsoft.Extensions.DependencyInjection;

namespace Duende.IdentityServer.Validation
{
    public class ValidationResult
    {
        public bool IsError { get; set; } = true;
        public string? Error { get; set; }
        public string? ErrorDescription { get; set; }
    }

    public class TokenValidationResult : ValidationResult
    {
        public RefreshToken? RefreshToken { get; set; }
        public Client? Client { get; set; }
    }
}

namespace Duende.IdentityServer.Services
{
    public interface IRefreshTokenService
    {
        Task<TokenValidationResult> ValidateRefreshTokenAsync(string token, Client client);
        Task<string> CreateRefreshTokenAsync(RefreshTokenCreationRequest request);
        Task<string> UpdateRefreshTokenAsync(RefreshTokenUpdateRequest request);
    }
}

namespace Microsoft.Extensions.DependencyInjection
{
    public interface IIdentityServerBuilder
    {
        IServiceCollection Services { get; }
    }
}

namespace Duende.IdentityServer
{
    public interface IClock
    {
        System.DateTimeOffset UtcNow { get; }
    }

    public static class IdentityServerConstants
    {
        public static class ProfileIsActiveCallers
        {
            public const string RefreshTokenValidation = "RefreshTokenValidation";
        }
    }
}

namespace Duende.IdentityServer.Stores.Serialization
{
    public class PersistentGrantOptions
    {
        public bool DataProtectData { get; set; } = true;
        public bool DeleteOneTimeOnlyRefreshTokensOnUse { get; set; } = true;
    }
}

namespace Duende.IdentityServer.Configuration
{
    public class InputLengthRestrictions
    {
        public int RefreshToken { get; set; } = 100;
    }

    public class IdentityServerOptions
    {
        public InputLengthRestrictions InputLengthRestrictions { get; set; } = new InputLengthRestrictions();
        public Duende.IdentityServer.Stores.Serialization.PersistentGrantOptions PersistentGrants { get; set; } = new Duende.IdentityServer.Stores.Serialization.PersistentGrantOptions();
    }
}

namespace Duende.IdentityServer.Services
{
    public interface IProfileService
    {
        Task GetProfileDataAsync(ProfileDataRequestContext context);
        Task IsActiveAsync(IsActiveContext context);
    }
}

namespace Duende.IdentityServer.Stores
{
    public class PersistedGrantFilter
    {
        public string? SubjectId { get; set; }
        public string? SessionId { get; set; }
        public string? ClientId { get; set; }
        public System.Collections.Generic.IEnumerable<string>? ClientIds { get; set; }
        public string? Type { get; set; }
        public System.Collections.Generic.IEnumerable<string>? Types { get; set; }
    }

    public interface IPersistedGrantStore
    {
        Task StoreAsync(PersistedGrant grant);
        Task<PersistedGrant?> GetAsync(string key);
        Task<System.Collections.Generic.IEnumerable<PersistedGrant>> GetAllAsync(PersistedGrantFilter filter);
        Task RemoveAsync(string key);
        Task RemoveAllAsync(PersistedGrantFilter filter);
    }
}
