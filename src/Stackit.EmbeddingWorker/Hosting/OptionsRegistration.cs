using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Stackit.EmbeddingWorker.Configuration;

namespace Stackit.EmbeddingWorker.Hosting;

/// <summary>
/// How the worker's sections become options: bound, checked at start by their generated validators (and the
/// cross-section rules registered beside them), and shown all at once when wrong (<see cref="ConfigurationCheck"/>).
/// The helper commands bind through <see cref="OptionsBinding"/> with the same validators.
/// </summary>
internal static class OptionsRegistration
{
    /// <summary>Binds a section, validates it when the host starts, and exposes the value as a singleton.</summary>
    public static IServiceCollection AddValidatedOptions<T, TValidator>(this IServiceCollection services, IConfiguration configuration, string section)
        where T : class, new()
        where TValidator : class, IValidateOptions<T>
    {
        services.AddOptions<T>().Bind(configuration.GetSection(section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<T>, TValidator>());
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<T>>().Value);
        services.AddSingleton<IOptionsCheck>(new OptionsCheck<T>(section));
        return services;
    }

    /// <summary>Binds a section that has nothing to check (every value is optional and free).</summary>
    public static IServiceCollection AddBoundOptions<T>(this IServiceCollection services, IConfiguration configuration, string section)
        where T : class
    {
        services.AddOptions<T>().Bind(configuration.GetSection(section));
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<T>>().Value);
        return services;
    }
}
