package uk.nhs.hee.tis.resilience.autoconfigure;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;

import uk.nhs.hee.tis.resilience.autoconfigure.web.ProblemDetailsAutoConfiguration;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatException;

/**
 * A misspelt or malformed {@code tis.resilience} setting stops a real application's startup, and the
 * report Boot prints names the key (and, for a typo, the closest valid one) — never a default kept
 * silently, never a message without its key.
 */
@ExtendWith(OutputCaptureExtension.class)
class BadPropertiesTests {

	private static void start(String... properties) {
		String[] args = new String[properties.length];
		for (int i = 0; i < properties.length; i++) {
			args[i] = "--" + properties[i];
		}
		new SpringApplicationBuilder(App.class).web(WebApplicationType.NONE).run(args).close();
	}

	@ParameterizedTest(name = "{0}")
	@CsvSource({ "tis.resilience.services.x.respnse-timeout=2s, tis.resilience.services.x.response-timeout",
			"tis.resilience.defaults.respnse-timeout=2s, tis.resilience.defaults.response-timeout",
			"tis.resilience.defaults.circuit-breaker.failure-rate-treshold=20, tis.resilience.defaults.circuit-breaker.failure-rate-threshold",
			"tis.resilience.services.profile.retry.max-attemps=3, tis.resilience.services.profile.retry.max-attempts",
			"tis.resilience.jwt.max-stail=1h, tis.resilience.jwt.max-stale" })
	void stopsStartupOnAMisspeltKeyNamingItAndTheClosestValidOne(String property, String closest, CapturedOutput output) {
		String key = property.substring(0, property.indexOf('='));
		assertThatException().isThrownBy(() -> start("tis.resilience.services.x.url=http://x",
				"tis.resilience.services.profile.url=http://profile", property));
		assertThat(output).contains(key + " is not a tis-resilience property").contains("did you mean " + closest + "?");
	}

	@Test
	void saysAValidKeySetToNothingIsEmptyRatherThanUnknown(CapturedOutput output) {
		assertThatException().isThrownBy(() -> start("tis.resilience.services.profile.url=http://profile",
				"tis.resilience.services.profile.response-timeout="));
		assertThat(output).contains("tis.resilience.services.profile.response-timeout is set to an empty value")
			.doesNotContain("response-timeout is not a tis-resilience property");
	}

	private static void startWithEnvironmentVariables(Map<String, Object> variables) {
		StandardEnvironment environment = new StandardEnvironment();
		environment.getPropertySources()
			.replace(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, new SystemEnvironmentPropertySource(
					StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, variables));
		new SpringApplicationBuilder(App.class).web(WebApplicationType.NONE).environment(environment).run().close();
	}

	@Test
	void stopsStartupOnAMisspeltEnvironmentVariableNamingIt(CapturedOutput output) {
		assertThatException().isThrownBy(() -> startWithEnvironmentVariables(Map.of(
				"TIS_RESILIENCE_SERVICES_PROFILE_URL", "http://profile",
				"TIS_RESILIENCE_SERVICES_PROFILE_RESPNSETIMEOUT", "2s")));
		assertThat(output).contains("Environment variable [TIS_RESILIENCE_SERVICES_PROFILE_RESPNSETIMEOUT] is not a "
				+ "tis-resilience setting");
	}

	@Test
	void startsWithEveryFormOfEnvironmentVariableBootBinds() {
		startWithEnvironmentVariables(Map.of("TIS_RESILIENCE_SERVICES_PROFILE_URL", "http://profile",
				"TIS_RESILIENCE_SERVICES_PROFILE_RESPONSE_TIMEOUT", "2s",
				"TIS_RESILIENCE_SERVICES_PROFILE_CIRCUITBREAKER_FAILURERATETHRESHOLD", "40",
				"TIS_RESILIENCE_DEFAULTS_RESPONSETIMEOUT", "3s", "TIS_RESILIENCE_STALECACHE_HEADERSNOTINKEY_0_", "X-Trace",
				"TIS_RESILIENCE_JWT_MAX_STALE", "12h", "TIS_RESILIENCE_ENABLED", "true"));
	}

	@Test
	void namesTheKeyOfAUrlThatIsNotOne(CapturedOutput output) {
		assertThatException().isThrownBy(() -> start("tis.resilience.services.x.url=not a url"));
		assertThat(output).contains("tis.resilience.services.x.url");
	}

	@ParameterizedTest(name = "{0}")
	@CsvSource(delimiter = '|', value = {
			"tis.resilience.defaults.circuit-breaker.probe-path=/health|tis.resilience.defaults.circuit-breaker.probe-path is not allowed",
			"tis.resilience.services.profile.circuit-breaker.probe-path=health|tis.resilience.services.profile.circuit-breaker.probe-path must be a path starting with /",
			"tis.resilience.services.profile.circuit-breaker.probe-interval=0s|tis.resilience.services.profile.circuit-breaker.probe-interval must be positive",
			"tis.resilience.services.nourl.circuit-breaker.probe-path=/health|tis.resilience.services.nourl.circuit-breaker.probe-path needs the service's url",
			"tis.resilience.services.profile.outlier-ejection.consecutive-failures=0|tis.resilience.services.profile.outlier-ejection.consecutive-failures must be at least 1",
			"tis.resilience.services.profile.outlier-ejection.max-ejection-percent=150|tis.resilience.services.profile.outlier-ejection.max-ejection-percent must be a percentage",
			"tis.resilience.defaults.outlier-ejection.base-ejection-time=10m|tis.resilience.defaults.outlier-ejection.max-ejection-time must be at least" })
	void stopsStartupOnABadProbeOrOutlierEjectionSettingNamingTheKey(String property, String message,
			CapturedOutput output) {
		assertThatException().isThrownBy(() -> start("tis.resilience.services.profile.url=http://profile", property));
		assertThat(output).contains(message);
	}

	@Test
	void namesAServiceSettingWrittenWithoutTheServiceName(CapturedOutput output) {
		assertThatException().isThrownBy(() -> start("tis.resilience.services.url=http://profile"));
		assertThat(output).contains("tis.resilience.services.url has no service name")
			.contains("tis.resilience.services.profile.url");
	}

	@Test
	void stopsStartupWhenTheJwtCacheFileCannotBeWritten(@TempDir Path directory, CapturedOutput output) throws Exception {
		Path notADirectory = Files.writeString(directory.resolve("plain-file"), "x");
		assertThatException().isThrownBy(() -> start("tis.resilience.jwt.cache-file=" + notADirectory.resolve("jwks.json")));
		assertThat(output).contains("tis.resilience.jwt.cache-file cannot be written");
		start("tis.resilience.jwt.cache-file=" + directory.resolve("not-yet/there/jwks.json"));
	}

	@Test
	void startsWithEveryKeyOfTheConfigurationReferenceSpeltRight() {
		start("tis.resilience.services.profile.url=http://profile", "tis.resilience.services.profile.response-timeout=2s",
				"tis.resilience.services.profile.stale-if-error=5m",
				"tis.resilience.services.profile.circuit-breaker.failure-rate-threshold=40",
				"tis.resilience.defaults.retry.max-attempts=3", "tis.resilience.jwt.max-stale=12h");
	}

	@ParameterizedTest(name = "tis.resilience.enabled={0}")
	@CsvSource({ "true, true", "on, true", "yes, true", "1, true", "TRUE, true", "false, false", "off, false", "no, false",
			"0, false" })
	void readsTheSwitchAsBootBindsABoolean(String value, boolean on) {
		try (ConfigurableApplicationContext context = new SpringApplicationBuilder(App.class)
			.web(WebApplicationType.NONE)
			.run("--tis.resilience.enabled=" + value)) {
			assertThat(context.getBeanNamesForType(ServiceGuardRegistry.class)).hasSize(on ? 1 : 0);
		}
	}

	@ParameterizedTest(name = "{0}")
	@CsvSource({ "tis.resilience.enabled=flase", "tis.resilience.enabled=ture", "tis.resilience.enabled=enabled" })
	void stopsStartupOnASwitchThatIsNeitherOnNorOffNamingTheKey(String property, CapturedOutput output) {
		assertThatException().isThrownBy(() -> start(property));
		String key = property.substring(0, property.indexOf('='));
		assertThat(output).contains("Failed to bind properties under '" + key + "'")
			.contains(property.substring(property.indexOf('=') + 1));
	}

	@Test
	void stopsStartupOnAProblemDetailsSwitchThatIsNeitherOnNorOff() {
		new WebApplicationContextRunner()
			.withConfiguration(AutoConfigurations.of(TisResilienceAutoConfiguration.class,
					ProblemDetailsAutoConfiguration.class))
			.withPropertyValues("tis.resilience.problem-details.enabled=of")
			.run((context) -> assertThat(context.getStartupFailure())
				.hasStackTraceContaining("Failed to bind properties under 'tis.resilience.problem-details.enabled'")
				.hasStackTraceContaining("'of'"));
		new WebApplicationContextRunner()
			.withConfiguration(AutoConfigurations.of(TisResilienceAutoConfiguration.class,
					ProblemDetailsAutoConfiguration.class))
			.withPropertyValues("tis.resilience.problem-details.enabled=off")
			.run((context) -> assertThat(context).hasNotFailed()
				.doesNotHaveBean("tisServiceUnavailableProblemHandler"));
	}

	@SpringBootConfiguration
	@ImportAutoConfiguration(TisResilienceAutoConfiguration.class)
	static class App {

	}

}
