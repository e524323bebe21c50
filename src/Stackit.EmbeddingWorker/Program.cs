using Microsoft.Extensions.Hosting;
using Stackit.EmbeddingWorker.Hosting;

// appsettings.json is copied next to the binary, so the worker finds it from any working directory.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Services.AddEmbeddingWorker(builder.Configuration);
await builder.Build().RunAsync().ConfigureAwait(false);
