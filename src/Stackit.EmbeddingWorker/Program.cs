using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging.Console;
using Stackit.EmbeddingWorker.Cli;
using Stackit.EmbeddingWorker.Configuration;
using Stackit.EmbeddingWorker.Hosting;
using Stackit.EmbeddingWorker.Management;

// appsettings.json is copied next to the binary, so the worker finds it from any working directory.
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
if (WorkerCli.Handles(args))
{
    // A helper command reads exactly the settings the worker would, from the same sources; nothing is started.
    return await WorkerCli.RunAsync(args, builder.Configuration, Console.In, Console.Out, Console.Error).ConfigureAwait(false);
}
// The slim builder fixes the console to the simple format; binding the section again, after it, lets
// Logging:Console:FormatterName choose 'json' (the chart and the image do) or 'systemd'.
builder.Logging.AddConsole();
builder.Services.Configure<ConsoleLoggerOptions>(builder.Configuration.GetSection("Logging:Console"));
builder.Services.AddEmbeddingWorker(builder.Configuration);
builder.AddManagementEndpoints();
var app = builder.Build();
// Every configuration error at once, one a line, before anything starts; not a stack trace from the first one.
if (StartupConfiguration.Failures(app.Services) is { Count: > 0 } failures)
{
    ConfigurationCheck.Print(failures, Console.Error);
    return ConfigurationCheck.ExitCode;
}
app.MapManagementEndpoints();
try
{
    await app.RunAsync().ConfigureAwait(false);
}
catch (Microsoft.Extensions.Options.OptionsValidationException ex)
{
    // A setting read only once the host runs (an options type without a start-up check).
    ConfigurationCheck.Print(ConfigurationCheck.Failures(ex), Console.Error);
    return ConfigurationCheck.ExitCode;
}
return 0;
