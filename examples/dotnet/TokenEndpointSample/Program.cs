using TokenEndpointSample;

// dotnet run --project examples/dotnet/TokenEndpointSample (see its README.md).
SampleApp.Build(args).Run();
