package uk.nhs.hee.tis.resilience.autoconfigure;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.EnumerablePropertySource;
import org.springframework.core.env.Environment;
import org.springframework.core.env.PropertySource;
import org.springframework.core.env.SystemEnvironmentPropertySource;

/**
 * Finds {@code TIS_RESILIENCE_*} environment variables that name no setting, such as
 * {@code TIS_RESILIENCE_SERVICES_PROFILE_RESPNSETIMEOUT}. Boot's check for unknown keys does not cover
 * environment variables (an underscore may stand for a dot or a dash), so a typo there would leave the
 * default in place without a word; containers are configured that way more than any other. A variable
 * is known when, with its separators removed, it is a key of {@link PropertyKeys} with its dots and
 * dashes removed — for {@code services.*} keys, {@code SERVICES}, a service name, then a service key —
 * optionally followed by list indexes ({@code _0_}).
 */
final class EnvironmentVariableKeys {

	private static final String PREFIX = "TIS_RESILIENCE_";

	private static final String SERVICES = "SERVICES";

	private EnvironmentVariableKeys() {
	}

	/**
	 * Stops startup when a variable names no setting.
	 * @throws IllegalStateException naming every such variable
	 */
	static void check(Environment environment) {
		List<String> unknown = unknown(environment);
		if (!unknown.isEmpty()) {
			throw new IllegalStateException("Environment variable" + ((unknown.size() > 1) ? "s " : " ") + unknown
					+ ((unknown.size() > 1) ? " are" : " is") + " not a tis-resilience setting (their form is "
					+ "TIS_RESILIENCE_ and the key in capitals, dots and dashes as underscores or left out, such as "
					+ "TIS_RESILIENCE_SERVICES_PROFILE_RESPONSE_TIMEOUT); every key: docs/configuration.md");
		}
	}

	static List<String> unknown(Environment environment) {
		if (!(environment instanceof ConfigurableEnvironment configurable)) {
			return List.of();
		}
		Set<String> plain = new TreeSet<>();
		Set<String> serviceSuffixes = new TreeSet<>();
		String servicesPrefix = TisResilienceProperties.PREFIX + ".services.*.";
		for (String key : PropertyKeys.all()) {
			if (key.startsWith(servicesPrefix)) {
				serviceSuffixes.add(squash(key.substring(servicesPrefix.length())));
			}
			else {
				plain.add(squash(key.substring(TisResilienceProperties.PREFIX.length() + 1)));
			}
		}
		List<String> unknown = new ArrayList<>();
		for (PropertySource<?> source : configurable.getPropertySources()) {
			if (source instanceof SystemEnvironmentPropertySource environmentVariables) {
				for (String name : ((EnumerablePropertySource<?>) environmentVariables).getPropertyNames()) {
					if (name.toUpperCase(Locale.ROOT).startsWith(PREFIX) && !isKnown(name, plain, serviceSuffixes)) {
						unknown.add(name);
					}
				}
			}
		}
		return unknown;
	}

	private static boolean isKnown(String name, Set<String> plain, Set<String> serviceSuffixes) {
		String rest = name.substring(PREFIX.length()).toUpperCase(Locale.ROOT).replaceAll("(_[0-9]+_?)+$", "");
		String squashed = squash(rest);
		if (plain.contains(squashed)) {
			return true;
		}
		if (squashed.startsWith(SERVICES)) {
			String afterServices = squashed.substring(SERVICES.length());
			for (String suffix : serviceSuffixes) {
				if (afterServices.endsWith(suffix) && afterServices.length() > suffix.length()) {
					return true;
				}
			}
		}
		return false;
	}

	private static String squash(String key) {
		return key.replace(".", "").replace("-", "").replace("_", "").toUpperCase(Locale.ROOT);
	}

}
