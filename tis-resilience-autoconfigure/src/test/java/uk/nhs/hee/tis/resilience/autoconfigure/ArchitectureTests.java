package uk.nhs.hee.tis.resilience.autoconfigure;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.context.annotation.Bean;

import uk.nhs.hee.tis.resilience.autoconfigure.policy.ServiceGuardCircuitBreakerFactory;
import uk.nhs.hee.tis.resilience.autoconfigure.token.ServiceTokenProvider;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.methods;

/**
 * Keeps the public surface small on purpose: what a user names in code or configuration, plus the
 * {@code internal} package that Java forces public.
 */
class ArchitectureTests {

	private final JavaClasses autoconfigure = new ClassFileImporter()
		.withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
		.importPackages("uk.nhs.hee.tis.resilience.autoconfigure");

	@Test
	void autoConfigurationsArePublicFinalAndNamedForTheirCapability() {
		classes().that()
			.areAnnotatedWith(AutoConfiguration.class)
			.should()
			.haveSimpleNameEndingWith("AutoConfiguration")
			.andShould()
			.haveModifier(JavaModifier.FINAL)
			.andShould()
			.bePublic()
			.check(this.autoconfigure);
	}

	@Test
	void beanMethodsArePackagePrivate() {
		methods().that()
			.areAnnotatedWith(Bean.class)
			.should()
			.notBePublic()
			.andShould()
			.notBeProtected()
			.check(this.autoconfigure);
	}

	@Test
	void onlyWhatUsersNameIsPublic() {
		classes().that()
			.arePublic()
			.and()
			.areTopLevelClasses()
			.and()
			.resideOutsideOfPackage("..autoconfigure.internal..")
			.should()
			.beAnnotatedWith(AutoConfiguration.class)
			.orShould()
			.beAnnotatedWith(ConfigurationProperties.class)
			.orShould()
			.be(ServiceGuardCircuitBreakerFactory.class)
			.orShould()
			.be(ServiceTokenProvider.class)
			.check(this.autoconfigure);
	}

}
