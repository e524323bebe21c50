using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Tests.Infrastructure;

/// <summary>A <see cref="PipelineShutdown"/> for a stage tested on its own, with the lifetime that drives it.</summary>
internal static class TestShutdown
{
    public static PipelineShutdown Create(out ApplicationLifetime lifetime, TimeSpan? shutdownTimeout = null, TimeProvider? time = null)
    {
        lifetime = new ApplicationLifetime(NullLogger<ApplicationLifetime>.Instance);
        var host = new HostOptions { ShutdownTimeout = shutdownTimeout ?? TimeSpan.FromSeconds(30) };
        return new PipelineShutdown(lifetime, Options.Create(host), time ?? TimeProvider.System);
    }

    public static PipelineShutdown Create() => Create(out _);
}
