using Microsoft.Extensions.Options;
using Stackit.EmbeddingWorker.Configuration;

namespace Stackit.EmbeddingWorker.Hosting;

/// <summary>One registered options type, checked before the host starts (see <see cref="ConfigurationCheck"/>).</summary>
internal interface IOptionsCheck
{
    IEnumerable<string> Failures(IServiceProvider services);
}

/// <summary>
/// Binds <typeparamref name="T"/> as the host would and runs each of its validators on its own, so that a validator
/// which reads another section (a cross-section rule) cannot hide this section's own failures when that one fails too.
/// </summary>
internal sealed class OptionsCheck<T>(string section) : IOptionsCheck
    where T : class, new()
{
    public IEnumerable<string> Failures(IServiceProvider services)
    {
        var options = new T();
        try
        {
            foreach (var configure in services.GetServices<IConfigureOptions<T>>())
            {
                configure.Configure(options);
            }
        }
        catch (InvalidOperationException ex) when (ConfigurationCheck.IsBindingFailure(ex))
        {
            return [ex.Message];
        }
        var failures = new List<string>();
        foreach (var validator in services.GetServices<IValidateOptions<T>>())
        {
            try
            {
                if (validator.Validate(Options.DefaultName, options) is { Failed: true } result)
                {
                    failures.AddRange(result.Failures.Select(f => ConfigurationCheck.Plain(f, typeof(T), section)));
                }
            }
            catch (Exception ex) when (ex is OptionsValidationException or InvalidOperationException)
            {
                // The rule reads another section that is itself invalid: that section's own check reports it.
            }
        }
        return failures;
    }
}

/// <summary>The worker's start-up check: every registered section, each failure once, in registration order.</summary>
public static class StartupConfiguration
{
    public static IReadOnlyList<string> Failures(IServiceProvider services) =>
        services.GetServices<IOptionsCheck>().SelectMany(check => check.Failures(services)).Distinct(StringComparer.Ordinal).ToList();
}
