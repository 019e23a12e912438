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
