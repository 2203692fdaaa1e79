package uk.nhs.hee.tis.resilience;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/** Core stays usable from plain Java: nothing of Spring here. */
class ArchitectureTests {

	private final JavaClasses core = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
		.importPackages("uk.nhs.hee.tis.resilience");

	@Test
	void coreKnowsNothingOfSpring() {
		noClasses().should().dependOnClassesThat().resideInAPackage("org.springframework..").check(this.core);
	}

}
