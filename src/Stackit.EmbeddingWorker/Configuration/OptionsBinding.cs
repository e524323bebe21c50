using Microsoft.Extensions.Options;

namespace Stackit.EmbeddingWorker.Configuration;

/// <summary>
/// The helper commands' way to settings: a section bound and checked by the same generated validator the worker runs
/// at start, so a value the worker refuses is refused by a command with the same words.
/// </summary>
internal static class OptionsBinding
{
    /// <summary>
    /// Binds a section and checks it with <paramref name="validator"/> as the worker does at start; throws
    /// <see cref="OptionsValidationException"/> with every failure.
    /// </summary>
    public static T Bind<T>(IConfiguration configuration, string section, IValidateOptions<T> validator)
        where T : class, new()
    {
        T options;
        try
        {
            options = configuration.GetSection(section).Get<T>() ?? new T();
        }
        catch (InvalidOperationException ex) when (ConfigurationCheck.IsBindingFailure(ex))
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(T), [ex.Message]);
        }
        var result = validator.Validate(Options.DefaultName, options);
        if (result.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(T), result.Failures.Select(f => ConfigurationCheck.Plain(f, typeof(T), section)));
        }
        return options;
    }
}
