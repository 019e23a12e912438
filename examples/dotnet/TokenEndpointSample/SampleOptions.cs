namespace TokenEndpointSample;

/// <summary>The sample's own settings (appsettings.json's "Sample" section).</summary>
public sealed class SampleOptions
{
    /// <summary>Each client's secret, by client id. A sample: a real server keeps secrets hashed
    /// (Duende's client store) or in a secret store, never in appsettings.json.</summary>
    public Dictionary<string, string> ClientSecrets { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Who may sign in with the password grant. A stand-in for a real sign-in (the
    /// authorization-code flow) so that the sample can hand out a first refresh token.</summary>
    public List<SampleUser> Users { get; set; } = new();

    /// <summary>The scopes a client may ask for.</summary>
    public List<string> Scopes { get; set; } = new();
}

/// <summary>A user of the password grant.</summary>
public sealed class SampleUser
{
    public string Username { get; set; } = "";
    public string Password { get; set; } = "";
    public string SubjectId { get; set; } = "";
}
