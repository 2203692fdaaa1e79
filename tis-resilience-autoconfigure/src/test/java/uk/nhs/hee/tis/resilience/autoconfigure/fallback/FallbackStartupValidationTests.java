package uk.nhs.hee.tis.resilience.autoconfigure.fallback;

import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.annotation.Fallback;
import uk.nhs.hee.tis.resilience.annotation.Resilient;
import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;

import static org.assertj.core.api.Assertions.assertThat;

/** A fallback that cannot work stops the application at startup, naming both methods. */
class FallbackStartupValidationTests {

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(TisResilienceAutoConfiguration.class, FallbackAutoConfiguration.class));

	@Test
	void stopsStartupWhenTheFallbackMethodDoesNotExist() {
		assertStartupFails(MissingFallback.class, MissingFallback.Bean.class.getName() + ".userinfo(String)",
				"no method of that name exists");
	}

	@Test
	void stopsStartupWhenTheFallbackTakesOtherParameters() {
		assertStartupFails(WrongParameters.class, WrongParameters.Bean.class.getName() + ".userinfo(String)",
				WrongParameters.Bean.class.getName() + ".cached(Integer) takes (Integer)");
	}

	@Test
	void stopsStartupWhenTheFallbackTakesTwoExceptions() {
		assertStartupFails(TwoExceptions.class, TwoExceptions.Bean.class.getName() + ".userinfo(String)",
				TwoExceptions.Bean.class.getName() + ".cached(String, Exception, Exception)");
	}

	@Test
	void stopsStartupWhenTheFallbackReturnsAnotherType() {
		assertStartupFails(WrongReturnType.class, WrongReturnType.Bean.class.getName() + ".userinfo(String)",
				WrongReturnType.Bean.class.getName() + ".cached(String) returns java.lang.Integer");
	}

	@Test
	void stopsStartupWhenBothAMethodAndABeanAreNamed() {
		assertStartupFails(MethodAndBean.class, MethodAndBean.Bean.class.getName() + ".userinfo()",
				"must name either a method or a bean, not both");
	}

	@Test
	void stopsStartupWhenResilientNamesAServiceNobodyConfigured() {
		this.runner.withUserConfiguration(UnknownService.class)
			.withPropertyValues("tis.resilience.services.profile.url=http://profile:8080")
			.run((context) -> assertThat(context).hasFailed()
				.getFailure()
				.rootCause()
				.hasMessageContaining("@Resilient(service = \"keycloak-admin\")")
				.hasMessageContaining(UnknownService.Bean.class.getName() + ".users()")
				.hasMessageContaining("tis.resilience.services.keycloak-admin")
				.hasMessageContaining("configured services: profile"));
	}

	@Test
	void stopsStartupWhenTheAnnotatedMethodIsFinal() {
		assertStartupFails(FinalMethod.class, FinalMethod.Bean.class.getName() + ".userinfo(String)",
				"the method is final, so Spring's proxy cannot intercept it");
	}

	@Test
	void stopsStartupWhenTheAnnotatedMethodIsPrivate() {
		assertStartupFails(PrivateMethod.class, PrivateMethod.Bean.class.getName() + ".userinfo(String)",
				"the method is private");
	}

	@Test
	void stopsStartupWhenTheAnnotatedMethodIsStatic() {
		assertStartupFails(StaticMethod.class, StaticMethod.Bean.class.getName() + ".userinfo(String)", "the method is static");
	}

	@Test
	void resolvesAGenericParentsFallbackAgainstTheConcreteType() {
		this.runner.withUserConfiguration(GenericParent.class).run((context) -> {
			assertThat(context).hasNotFailed();
			assertThat(context.getBean(GenericParent.SiteLookup.class).find("x")).isEqualTo("cached x");
		});
	}

	@Test
	void startsWhenEveryFallbackFits() {
		this.runner.withUserConfiguration(Fitting.class).run((context) -> assertThat(context).hasNotFailed());
	}

	private void assertStartupFails(Class<?> configuration, String annotated, String problem) {
		this.runner.withUserConfiguration(configuration)
			.run((context) -> assertThat(context).hasFailed()
				.getFailure()
				.rootCause()
				.hasMessageContaining(annotated)
				.hasMessageContaining(problem));
	}

	@Configuration(proxyBeanMethods = false)
	@Import(MissingFallback.Bean.class)
	static class MissingFallback {

		static class Bean {

			@Fallback(method = "cached")
			public String userinfo(String user) {
				return user;
			}

		}

	}

	@Configuration(proxyBeanMethods = false)
	@Import(WrongParameters.Bean.class)
	static class WrongParameters {

		static class Bean {

			@Fallback(method = "cached")
			public String userinfo(String user) {
				return user;
			}

			String cached(Integer user) {
				return "cached";
			}

		}

	}

	@Configuration(proxyBeanMethods = false)
	@Import(TwoExceptions.Bean.class)
	static class TwoExceptions {

		static class Bean {

			@Fallback(method = "cached")
			public String userinfo(String user) {
				return user;
			}

			String cached(String user, Exception first, Exception second) {
				return "cached";
			}

		}

	}

	@Configuration(proxyBeanMethods = false)
	@Import(FinalMethod.Bean.class)
	static class FinalMethod {

		static class Bean {

			@Fallback(method = "cached")
			public final String userinfo(String user) {
				return user;
			}

			String cached(String user) {
				return "cached";
			}

		}

	}

	@Configuration(proxyBeanMethods = false)
	@Import(StaticMethod.Bean.class)
	static class StaticMethod {

		static class Bean {

			@Fallback(method = "cached")
			public static String userinfo(String user) {
				return user;
			}

			static String cached(String user) {
				return "cached";
			}

		}

	}

	@Configuration(proxyBeanMethods = false)
	@Import(PrivateMethod.Bean.class)
	static class PrivateMethod {

		static class Bean {

			@Fallback(method = "cached")
			private String userinfo(String user) {
				return user;
			}

			String cached(String user) {
				return "cached";
			}

		}

	}

	@Configuration(proxyBeanMethods = false)
	@Import(GenericParent.SiteLookup.class)
	static class GenericParent {

		abstract static class CachedLookup<T> {

			@Fallback(method = "cached")
			public abstract T find(String key);

			T cached(String key, Exception ex) {
				return fromCache(key);
			}

			abstract T fromCache(String key);

		}

		static class SiteLookup extends CachedLookup<String> {

			@Override
			public String find(String key) {
				throw new ServiceUnavailableException("sites", ServiceUnavailableException.Reason.CIRCUIT_OPEN);
			}

			@Override
			String fromCache(String key) {
				return "cached " + key;
			}

		}

	}

	@Configuration(proxyBeanMethods = false)
	@Import(WrongReturnType.Bean.class)
	static class WrongReturnType {

		static class Bean {

			@Fallback(method = "cached")
			public String userinfo(String user) {
				return user;
			}

			Integer cached(String user) {
				return 1;
			}

		}

	}

	@Configuration(proxyBeanMethods = false)
	@Import(MethodAndBean.Bean.class)
	static class MethodAndBean {

		static class Bean {

			@Fallback(method = "cached", bean = Object.class)
			public String userinfo() {
				return "me";
			}

			String cached() {
				return "cached";
			}

		}

	}

	@Configuration(proxyBeanMethods = false)
	@Import(UnknownService.Bean.class)
	static class UnknownService {

		static class Bean {

			@Resilient(service = "keycloak-admin")
			public String users() {
				return "users";
			}

		}

	}

	@Configuration(proxyBeanMethods = false)
	@Import(Fitting.Bean.class)
	static class Fitting {

		static class Bean {

			@Fallback(method = "cached")
			public CharSequence userinfo(String user) {
				return user;
			}

			String cached(String user) {
				return "cached";
			}

			String cached(String user, RuntimeException ex) {
				return "cached";
			}

		}

	}

}
