// An AgentRpc host for the conformance suite: the AutoGen .NET runtime gateway
// (NuGet package Microsoft.AutoGen.RuntimeGateway.Grpc) on one fixed plaintext HTTP/2 port.
//
// The gateway package brings the AgentRpc gRPC service (GrpcGatewayService), the gateway that
// routes between connected workers (GrpcGateway), and the Orleans grains that hold agent types,
// subscriptions and the dead-letter queue. This file only chooses how they are hosted.

using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AutoGen.RuntimeGateway.Grpc;

// The port the suite maps. Keep in sync with the Dockerfile's EXPOSE and with
// DOTNET_GATEWAY_PORT in conformance/targets/container.py (tests/docker checks all three).
const int AgentRpcPort = 5001;

// The package configures Orleans with localhost clustering and in-memory grain storage,
// streams and reminders only in the Development environment; in any other environment it
// requires a Cosmos DB connection string. A conformance run wants one self-contained silo
// whose state starts empty, so the environment is fixed here rather than left to variables.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = args,
    EnvironmentName = Environments.Development,
});

// gRPC clients such as grpcio reach a plaintext endpoint with HTTP/2 prior knowledge (h2c).
// Kestrel accepts that only on an endpoint that speaks HTTP/2 alone. An explicit endpoint
// also overrides ASPNETCORE_HTTP_PORTS (8080 in the official images), which the Orleans
// dashboard that Development mode enables would otherwise compete for.
builder.WebHost.ConfigureKestrel(kestrel =>
    kestrel.ListenAnyIP(AgentRpcPort, endpoint => endpoint.Protocols = HttpProtocols.Http2));

// Gateway and gRPC logs go to the console (the suite attaches container logs to failures);
// Orleans' own chatter is kept to warnings.
builder.Logging.AddFilter("Orleans", LogLevel.Warning);
builder.Logging.AddFilter("Microsoft.Orleans", LogLevel.Warning);

builder.AddAgentService();

var app = builder.Build();
app.MapAgentService(local: false, useGrpc: true);

app.Lifetime.ApplicationStarted.Register(() =>
    app.Logger.LogInformation("AgentRpc gateway listening on 0.0.0.0:{Port} (HTTP/2 cleartext)", AgentRpcPort));

await app.RunAsync();
